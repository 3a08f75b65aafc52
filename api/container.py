"""The composition root: builds every service once, for the app and for the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from bot.ports import DialoguePort
from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings
from desk.service import DeskService
from knowledge_base import load_knowledge_base
from notifier.bot_port import NotifierSubscriptionPort
from notifier.subscriptions import SubscriptionService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    desk: DeskService
    subscriptions: SubscriptionService
    subscription_port: NotifierSubscriptionPort
    # The dialogue every channel calls; None until the KB and NLU are wired in (the skill answers 503).
    dialogue: DialoguePort | None = None

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
    kb = load_knowledge_base(settings.kb_dir)
    subscriptions = SubscriptionService(db, clock)
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        desk=DeskService(
            db,
            clock,
            program_exists=lambda program_id: program_id in kb.programs,
            login_limit_per_min=settings.login_rate_limit_per_min,
        ),
        subscriptions=subscriptions,
        subscription_port=NotifierSubscriptionPort(subscriptions),
    )
