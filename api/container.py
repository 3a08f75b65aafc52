"""The composition root: builds every service once, for the app and for the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database

    async def start(self) -> None:
        """Start background work (scheduler, delivery workers) the settings ask for."""

    async def stop(self) -> None:
        """Stop background work; safe to call twice."""

    async def close(self) -> None:
        await self.db.dispose()


async def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    db = Database(settings)
    await db.create_all()
    return Services(settings=settings, clock=clock or SystemClock(), db=db)
