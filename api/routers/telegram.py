"""Router: telegram (being built)."""

from fastapi import APIRouter

router = APIRouter()
