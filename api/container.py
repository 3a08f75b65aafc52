"""The composition root: builds every service once, for the app and for the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings
from desk.service import DeskService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    desk: DeskService

    async def start(self) -> None:
        """Start background work (scheduler, delivery workers) the settings ask for."""

    async def stop(self) -> None:
        """Stop background work; safe to call twice."""

    async def close(self) -> None:
        await self.db.dispose()


async def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    db = Database(settings)
    await db.create_all()
    clock = clock or SystemClock()
    desk = DeskService(db, clock, login_limit_per_min=settings.login_rate_limit_per_min)
    return Services(settings=settings, clock=clock, db=db, desk=desk)
