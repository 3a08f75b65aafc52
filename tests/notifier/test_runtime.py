"""The whole notifier inside the app: Services.start runs the worker and the scheduler."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from api.container import build_services
from core.db import Database
from core.settings import Settings
from notifier.service import AnnouncementInput
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
