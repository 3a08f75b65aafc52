from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.clock import FixedClock
from core.db import Database
from core.settings import Settings
from notifier.service import AnnouncementService
from notifier.subscriptions import SubscriptionService
from tests.fakes.smtp import Inbox, smtp
from tests.fakes.telegram_server import FakeTelegram

__all__ = ["Inbox", "smtp"]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def clock() -> FixedClock:
    # 2026-03-02 10:00 KST, a Monday morning: outside quiet hours.
    return FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))


@pytest.fixture
def notifier_settings(settings: Settings, telegram: FakeTelegram, smtp: tuple[Inbox, int]) -> Settings:
    return settings.model_copy(
        update={
            "telegram_bot_token": __import__("pydantic").SecretStr(telegram.token),
            "telegram_base_url": telegram.base_url,
            "smtp_port": smtp[1],
            "telegram_rate_overall_per_s": 0.0,
            "telegram_rate_per_chat_per_s": 0.0,
            "public_base_url": "https://alimi.example.kr",
        }
    )


@pytest.fixture
def subscriptions(db: Database, clock: FixedClock) -> SubscriptionService:
    return SubscriptionService(db, clock, ["스마트물류", "관광레저"])


@pytest.fixture
def announcements(db: Database, notifier_settings: Settings, clock: FixedClock) -> AnnouncementService:
    return AnnouncementService(db, notifier_settings, clock)
