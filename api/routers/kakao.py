"""Router: kakao (being built)."""

from fastapi import APIRouter

router = APIRouter()
