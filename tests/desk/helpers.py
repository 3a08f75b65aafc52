"""Builders shared by the desk, staff API and console tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from api.app import create_app
from api.container import Services, build_services
from core.clock import FixedClock
from core.settings import Settings

STAFF_PASSWORD = "correct horse battery"
START = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # Monday 10:30 KST


@asynccontextmanager
async def running_app(settings: Settings, clock: FixedClock | None = None) -> AsyncIterator[tuple[FastAPI, Services]]:
    """The real app on the test database, its services composed as in production."""
    services = await build_services(settings, clock=clock or FixedClock(START))
    app = create_app(settings, services)
    app.state.services = services
    try:
        yield app, services
    finally:
        await services.close()


def client_for(app: FastAPI, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers)


async def staff_token(services: Services, username: str = "desk1", role: str = "staff") -> str:
    await services.desk.create_staff(username, "현장데스크 담당", STAFF_PASSWORD, role)
    return await services.desk.issue_token(username, "test")
