"""Router: staff_api (being built)."""

from fastapi import APIRouter

router = APIRouter()
