"""Router: console (being built)."""

from fastapi import APIRouter

router = APIRouter()
