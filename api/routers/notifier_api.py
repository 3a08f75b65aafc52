"""Router: notifier_api (being built)."""

from fastapi import APIRouter

router = APIRouter()
