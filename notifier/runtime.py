"""Builds the notifier's moving parts from settings and runs them in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection

import httpx

from core.clock import Clock
from core.db import Database
from core.settings import Settings
from notifier.channels import Channel, EmailChannel, KakaoEventChannel, TelegramChannel, WebhookChannel
from notifier.reminders import ReminderPlanner, SchedulerHost
from notifier.service import AnnouncementService, IntentRecipients
from notifier.worker import DeliveryWorker, Pacer

log = logging.getLogger(__name__)


def build_channels(settings: Settings, clock: Clock) -> dict[str, Channel]:
    """Every channel whose credentials are configured; e-mail always (SMTP host from settings)."""
    channels: dict[str, Channel] = {"email": EmailChannel(settings)}
    if settings.telegram_bot_token is not None:
        channels["telegram"] = TelegramChannel(
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_base_url,
            pool_size=max(1, settings.delivery_concurrency),
        )
    if settings.kakao_rest_api_key is not None and settings.kakao_bot_id:
        channels["kakao"] = KakaoEventChannel(
            httpx.AsyncClient(timeout=10.0),
            settings.kakao_event_api_url,
            settings.kakao_bot_id,
            settings.kakao_rest_api_key.get_secret_value(),
        )
    if settings.webhook_signing_secret is not None:
        channels["webhook"] = WebhookChannel(
            httpx.AsyncClient(timeout=10.0), settings.webhook_signing_secret.get_secret_value(), clock
        )
    return channels


def build_pacers(settings: Settings) -> dict[str, Pacer]:
    return {"telegram": Pacer(settings.telegram_rate_overall_per_s, settings.telegram_rate_per_chat_per_s)}


class DeliveryRuntime:
    """A delivery worker running until stopped (inside `gopa serve` or `gopa worker`)."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, worker_id: str | None = None) -> None:
        self.settings = settings
        self.channels = build_channels(settings, clock)
        self.worker = DeliveryWorker(db, settings, clock, self.channels, build_pacers(settings), worker_id=worker_id)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        for name, channel in list(self.channels.items()):
            try:
                await channel.start()
            except Exception:
                log.exception("channel %s could not start; its deliveries wait", name)
                self.worker.channels.pop(name, None)

    async def start(self) -> None:
        await self.open()
        self._task = asyncio.create_task(self.worker.run_forever(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.close()


class NotifierService:
    """What the composition root holds: announcements with their reminders, and, when this
    process runs background work, the delivery worker and the lease-guarded scheduler."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        intents: IntentRecipients | None = None,
        program_ids: Collection[str] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.intents = intents
        self.announcements = AnnouncementService(db, settings, clock, intents, program_ids)
        self.scheduler: SchedulerHost | None = None
        self.planner = ReminderPlanner(db, settings, clock)
        self.announcements.listeners.append(self.planner)
        self.delivery: DeliveryRuntime | None = None

    async def start(self) -> None:
        if not self.settings.run_scheduler or self.delivery is not None:
            return
        self.scheduler = SchedulerHost(self.db, self.settings, self.clock, self.intents)
        self.planner.host = self.scheduler
        await self.scheduler.start()
        self.delivery = DeliveryRuntime(self.db, self.settings, self.clock)
        await self.delivery.start()

    async def stop(self) -> None:
        if self.delivery is not None:
            await self.delivery.stop()
            self.delivery = None
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.planner.host = None
            self.scheduler = None
