"""Router: webchat (being built)."""

from fastapi import APIRouter

router = APIRouter()
