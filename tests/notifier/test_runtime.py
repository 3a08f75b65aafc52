"""The whole notifier inside the app: Services.start runs the worker and the scheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from api.container import build_services
from core.clock import FixedClock
from core.db import Database
from core.privacy import SecretRedactingFilter
from core.settings import Settings
from notifier.runtime import DeliveryRuntime
from notifier.service import AnnouncementInput, AnnouncementService
from notifier.subscriptions import SubscriptionService
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.db


async def test_services_start_delivers_in_the_background_and_stop_cleanly(
    settings: Settings, db: Database, telegram: FakeTelegram
) -> None:
    configured = settings.model_copy(
        update={
            "run_scheduler": True,
            "telegram_bot_token": SecretStr(telegram.token),
            "telegram_base_url": telegram.base_url,
            "worker_poll_interval_s": 0.05,
        }
    )
    services = await build_services(configured)  # the wall clock: night consent, it may be night
    try:
        await services.start()
        assert services.notifier.scheduler is not None and services.notifier.scheduler.running
        await services.subscriptions.subscribe("telegram", "4242", ["스마트물류"], consent=True, night_consent=True)
        announcements = services.notifier.announcements
        ann = await announcements.create(
            AnnouncementInput(title="물류 공고", topics=("스마트물류",), period_kind="상시")
        )
        assert await announcements.publish(ann.id) == 1
        assert await asyncio.to_thread(telegram.wait_for_messages, 1, 30)
    finally:
        await services.stop()
        await services.stop()  # twice is safe
        await services.close()
    assert telegram.count("4242") == 1
    assert services.notifier.scheduler is None and services.notifier.delivery is None


@pytest.fixture
def unfiltered_loggers() -> Iterator[None]:
    """Start with no redaction filters (another test in this process may have added one for
    the same fake token) and restore whatever was there afterwards."""
    names = ("httpx", "aiohttp.client", "telegram", "telegram.Bot")
    saved = {name: list(logging.getLogger(name).filters) for name in names}
    for name in names:
        for f in saved[name]:
            if isinstance(f, SecretRedactingFilter):
                logging.getLogger(name).removeFilter(f)
    yield
    for name in names:
        logging.getLogger(name).filters[:] = saved[name]


async def test_the_worker_never_logs_the_bot_token(
    notifier_settings: Settings,
    db: Database,
    clock: FixedClock,
    telegram: FakeTelegram,
    subscriptions: SubscriptionService,
    announcements: AnnouncementService,
    caplog: pytest.LogCaptureFixture,
    unfiltered_loggers: None,
) -> None:
    await subscriptions.subscribe("telegram", "5151", ["스마트물류"], consent=True)
    ann = await announcements.create(AnnouncementInput(title="물류 공고", topics=("스마트물류",), period_kind="상시"))
    await announcements.publish(ann.id)
    caplog.set_level(logging.DEBUG)
    runtime = DeliveryRuntime(db, notifier_settings, clock)  # what `gopa worker` runs
    await runtime.open()
    try:
        assert await runtime.worker.drain() == 1
    finally:
        await runtime.stop()
    assert telegram.count("5151") == 1
    assert any(r.name == "telegram.Bot" for r in caplog.records)  # PTB logged its URLs ...
    assert telegram.token not in caplog.text  # ... without the token
    assert all(telegram.token not in r.getMessage() for r in caplog.records)
