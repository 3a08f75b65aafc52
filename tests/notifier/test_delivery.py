from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.clock import FixedClock
from core.db import Database
from core.settings import Settings
from notifier.channels import EmailChannel, TelegramChannel
from notifier.models import Delivery, Subscriber
from notifier.service import AnnouncementInput, AnnouncementService
from notifier.subscriptions import SubscriptionService
from notifier.worker import DeliveryWorker
from tests.fakes.telegram_server import FakeTelegram
from tests.notifier.conftest import Inbox

pytestmark = pytest.mark.db


async def _worker(db: Database, settings: Settings, clock: FixedClock) -> tuple[DeliveryWorker, TelegramChannel]:
    assert settings.telegram_bot_token is not None
    tg = TelegramChannel(settings.telegram_bot_token.get_secret_value(), settings.telegram_base_url)
    await tg.start()
    return DeliveryWorker(db, settings, clock, {"telegram": tg, "email": EmailChannel(settings)}), tg


async def _statuses(db: Database) -> dict[str, int]:
    async with db.session() as session:
        rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return dict(rows.all())  # type: ignore[arg-type]


async def test_smart_logistics_subscriber_gets_it_once_per_channel_and_not_tourism(
    db: Database,
    notifier_settings: Settings,
    clock: FixedClock,
    subscriptions: SubscriptionService,
    announcements: AnnouncementService,
    telegram: FakeTelegram,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, _ = smtp
    await subscriptions.subscribe("telegram", "1001", ["스마트물류"], consent=True)
    await subscriptions.subscribe("email", "kim@example.kr", ["스마트 물류"], consent=True)
    await subscriptions.subscribe("telegram", "2002", ["관광레저"], consent=True)
    logistics = await announcements.create(
        AnnouncementInput(
            title="스마트물류 기업 <혁신> 지원 & 모집",
            body="물류 자동화 설비를 지원합니다.",
            topics=("스마트물류",),
            period_kind="dated",
            ends_at=datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
            url="https://example.kr/a?x=1&y=2",
        )
    )
    tourism = await announcements.create(
        AnnouncementInput(title="관광레저 홍보 지원", topics=("관광레저",), period_kind="상시")
    )
    assert await announcements.publish(logistics.id) == 2
    assert await announcements.publish(tourism.id) == 1
    assert await announcements.publish(logistics.id) == 0  # re-publishing creates nothing

    worker, tg = await _worker(db, notifier_settings, clock)
    try:
        assert await worker.drain() == 3
        assert await announcements.publish(logistics.id) == 0
        assert await worker.drain() == 0
    finally:
        await tg.close()

    assert telegram.count("1001") == 1
    assert telegram.count("2002") == 1
    first = next(m for m in telegram.messages if m["chat_id"] == "1001")
    assert first["parse_mode"] == "HTML"
    assert "스마트물류 기업 &lt;혁신&gt; 지원 &amp; 모집" in first["text"]
    assert "관광레저" not in first["text"]
    assert "/unsubscribe/" in first["text"]
    mails = inbox.to("kim@example.kr")
    assert len(mails) == 1
    assert mails[0]["Subject"] == "[새 공고] 스마트물류 기업 <혁신> 지원 & 모집"
    raw = inbox.raw[inbox.messages.index(mails[0])]
    assert raw.isascii() and b"Subject: =?utf-8?" in raw  # RFC 2047 header, 8-bit-safe body
    assert "물류 자동화 설비를 지원합니다." in mails[0].get_content()
    assert mails[0]["List-Unsubscribe"].strip().startswith("<https://alimi.example.kr/unsubscribe/")
    assert await _statuses(db) == {"sent": 3}


async def test_blocked_user_is_deactivated_and_stops_nobody_else(
    db: Database,
    notifier_settings: Settings,
    clock: FixedClock,
    subscriptions: SubscriptionService,
    announcements: AnnouncementService,
    telegram: FakeTelegram,
) -> None:
    for chat in ("1", "2", "3", "4"):
        await subscriptions.subscribe("telegram", chat, ["스마트물류"], consent=True)
    telegram.blocked.add("2")
    telegram.missing.add("3")
    telegram.server_errors["4"] = 1
    ann = await announcements.create(AnnouncementInput(title="물류 공고", topics=("스마트물류",), period_kind="상시"))
    await announcements.publish(ann.id)
    worker, tg = await _worker(db, notifier_settings, clock)
    try:
        await worker.drain()
        assert telegram.count("1") == 1 and telegram.count("4") == 0
        clock.advance(hours=1)  # past the first backoff (30 s base, jitter ≤ 1.5×)
        await worker.drain()
    finally:
        await tg.close()
    assert [telegram.count(c) for c in ("1", "2", "3", "4")] == [1, 0, 0, 1]
    async with db.session() as session:
        subs = {s.address: s for s in (await session.execute(select(Subscriber))).scalars()}
    assert not subs["2"].active and "blocked" in (subs["2"].deactivation_reason or "")
    assert not subs["3"].active and "chat not found" in (subs["3"].deactivation_reason or "").lower()
    assert subs["1"].active and subs["4"].active
    assert await _statuses(db) == {"sent": 2, "dead": 2}


async def test_rate_limit_pauses_the_channel_for_retry_after(
    db: Database,
    notifier_settings: Settings,
    clock: FixedClock,
    subscriptions: SubscriptionService,
    announcements: AnnouncementService,
    telegram: FakeTelegram,
) -> None:
    await subscriptions.subscribe("telegram", "7", ["스마트물류"], consent=True)
    telegram.rate_limit_next = 1
    telegram.retry_after = 30
    ann = await announcements.create(AnnouncementInput(title="물류 공고", topics=("스마트물류",), period_kind="상시"))
    await announcements.publish(ann.id)
    settings = notifier_settings.model_copy(update={"delivery_concurrency": 1})
    worker, tg = await _worker(db, settings, clock)
    try:
        await worker.drain()
        assert telegram.count("7") == 0
        async with db.session() as session:
            row = (await session.execute(select(Delivery))).scalar_one()
        assert row.status == "pending" and row.attempts == 0
        assert row.next_attempt_at == datetime(2026, 3, 2, 1, 0, 30, tzinfo=UTC)
        clock.advance(seconds=29)
        assert await worker.drain() == 0
        clock.advance(seconds=1)
        worker.pacers.clear()
        assert await worker.drain() == 1
    finally:
        await tg.close()
    assert telegram.count("7") == 1


async def test_quiet_hours_hold_until_eight_unless_night_consent(
    db: Database,
    notifier_settings: Settings,
    subscriptions: SubscriptionService,
    telegram: FakeTelegram,
) -> None:
    night = FixedClock(datetime(2026, 3, 2, 13, 0, tzinfo=UTC))  # 22:00 KST
    subscriptions.clock = night
    await subscriptions.subscribe("telegram", "10", ["스마트물류"], consent=True)
    await subscriptions.subscribe("telegram", "11", ["스마트물류"], consent=True, night_consent=True)
    service = AnnouncementService(db, notifier_settings, night)
    ann = await service.create(AnnouncementInput(title="물류 공고", topics=("스마트물류",), period_kind="상시"))
    await service.publish(ann.id)
    worker, tg = await _worker(db, notifier_settings, night)
    try:
        await worker.drain()
        assert (telegram.count("10"), telegram.count("11")) == (0, 1)
        night.set(datetime(2026, 3, 2, 22, 59, tzinfo=UTC))  # 07:59 KST
        await worker.drain()
        assert telegram.count("10") == 0
        night.set(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))  # 08:00 KST
        await worker.drain()
    finally:
        await tg.close()
    assert (telegram.count("10"), telegram.count("11")) == (1, 1)


async def test_a_keyword_in_the_title_matches_without_the_topic(
    db: Database, subscriptions: SubscriptionService, announcements: AnnouncementService
) -> None:
    await subscriptions.subscribe("email", "drone@example.kr", ["드론"], consent=True)
    await subscriptions.subscribe("email", "food@example.kr", ["식품"], consent=True)
    ann = await announcements.create(AnnouncementInput(title="김포 드론 실증 지원사업", topics=("지능형기계",)))
    assert await announcements.publish(ann.id) == 1
    async with db.session() as session:
        (row,) = (await session.execute(select(Delivery))).scalars().all()
        sub = await session.get(Subscriber, row.subscriber_id)
    assert sub is not None and sub.address == "drone@example.kr"
