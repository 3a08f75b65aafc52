"""Router: eligibility (being built)."""

from fastapi import APIRouter

router = APIRouter()
