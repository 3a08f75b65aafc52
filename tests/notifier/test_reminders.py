from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.clock import KST, FixedClock
from core.db import Database
from core.settings import Settings
from notifier.channels import TelegramChannel
from notifier.models import Delivery, Reminder
from notifier.reminders import ReminderPlanner, SchedulerHost, job_id, reminder_times
from notifier.service import AnnouncementInput, AnnouncementService
from notifier.subscriptions import SubscriptionService
from notifier.worker import DeliveryWorker
from tests.fakes.telegram_server import FakeTelegram


def test_reminders_fall_at_nine_kst_and_skip_the_past(settings: Settings) -> None:
    deadline = datetime(2026, 3, 20, 18, 0, tzinfo=KST)
    at = reminder_times(deadline, datetime(2026, 3, 2, 10, 0, tzinfo=KST), settings)
    assert at == [
        (7, datetime(2026, 3, 13, 9, 0, tzinfo=KST)),
        (3, datetime(2026, 3, 17, 9, 0, tzinfo=KST)),
        (1, datetime(2026, 3, 19, 9, 0, tzinfo=KST)),
        (0, datetime(2026, 3, 20, 9, 0, tzinfo=KST)),
    ]
    late = reminder_times(deadline, datetime(2026, 3, 17, 9, 0, tzinfo=KST), settings)
    assert [days for days, _ in late] == [1, 0]
    early_deadline = datetime(2026, 3, 20, 8, 0, tzinfo=KST)  # closes before the last morning's 09:00
    assert [d for d, _ in reminder_times(early_deadline, datetime(2026, 3, 2, tzinfo=KST), settings)] == [7, 3, 1]
    other_hour = settings.model_copy(update={"reminder_hour": 14})
    assert reminder_times(deadline, datetime(2026, 3, 18, tzinfo=KST), other_hour)[0][1].hour == 14


@pytest.mark.db
async def test_d3_reminder_arrives_at_nine_and_a_late_one_waits_for_morning(
    db: Database,
    notifier_settings: Settings,
    subscriptions: SubscriptionService,
    announcements: AnnouncementService,
    clock: FixedClock,
    telegram: FakeTelegram,
) -> None:
    await subscriptions.subscribe("telegram", "501", ["스마트물류"], consent=True)
    ann = await announcements.create(
        AnnouncementInput(
            title="스마트물류 설비 지원",
            topics=("스마트물류",),
            period_kind="dated",
            ends_at=datetime(2026, 3, 20, 18, 0, tzinfo=KST),
        )
    )
    planner = ReminderPlanner(db, notifier_settings, clock)
    announcements.listeners.append(planner)
    await announcements.publish(ann.id)
    host = SchedulerHost(db, notifier_settings, clock)
    async with db.session() as session:
        rows = {r.days_before: r for r in (await session.execute(select(Reminder))).scalars()}
    assert rows[3].due_at == datetime(2026, 3, 17, 9, 0, tzinfo=KST)

    assert notifier_settings.telegram_bot_token is not None
    tg = TelegramChannel(notifier_settings.telegram_bot_token.get_secret_value(), telegram.base_url)
    await tg.start()
    worker = DeliveryWorker(db, notifier_settings, clock, {"telegram": tg})
    try:
        await worker.drain()  # the announcement itself
        clock.set(rows[3].due_at)
        assert await host.fire(rows[3].id) == 1
        assert await host.fire(rows[3].id) == 0  # firing twice queues nothing
        await worker.drain()
        reminder_texts = [m["text"] for m in telegram.messages if "D-3" in m["text"]]
        assert len(reminder_texts) == 1 and "2026년 3월 20일(금) 18:00" in reminder_texts[0]

        # D-1 fires late, at 23:30 KST (say the service was down): it waits until 08:00.
        clock.set(datetime(2026, 3, 19, 23, 30, tzinfo=KST))
        assert await host.fire(rows[1].id) == 1
        await worker.drain()
        assert not any("D-1" in m["text"] for m in telegram.messages)
        clock.set(datetime(2026, 3, 20, 7, 59, tzinfo=KST))
        await worker.drain()
        assert not any("D-1" in m["text"] for m in telegram.messages)
        clock.set(datetime(2026, 3, 20, 8, 0, tzinfo=KST))
        await worker.drain()
        assert sum("D-1" in m["text"] for m in telegram.messages) == 1
    finally:
        await tg.close()


@pytest.mark.db
async def test_one_scheduler_holds_the_lease_and_a_missed_reminder_goes_out_once_after_start(
    db: Database, settings: Settings, subscriptions: SubscriptionService
) -> None:
    # APScheduler runs on the wall clock, so this test uses "now" for everything it schedules.
    now = datetime.now(UTC).replace(microsecond=0)
    clock = FixedClock(now)
    subscriptions.clock = clock
    await subscriptions.subscribe("email", "park@example.kr", ["스마트물류"], consent=True, night_consent=True)
    service = AnnouncementService(db, settings, clock)
    planner = ReminderPlanner(db, settings, clock)
    service.listeners.append(planner)
    ann = await service.create(
        AnnouncementInput(
            title="물류 공고", topics=("스마트물류",), period_kind="dated", ends_at=now + timedelta(days=10)
        )
    )
    first = SchedulerHost(db, settings, clock, holder="first")
    second = SchedulerHost(db, settings, clock, holder="second")
    await first.start()
    await second.start()
    try:
        assert first.running and not second.running
        planner.host = first
        await service.publish(ann.id)
        assert first.scheduler is not None
        async with db.session() as session:
            rows = {r.days_before: r for r in (await session.execute(select(Reminder))).scalars()}
        job = first.scheduler.get_job(job_id(rows[7]))
        assert job is not None and job.next_run_time == rows[7].due_at
        assert str(job.next_run_time.tzinfo) == "Asia/Seoul" and job.next_run_time.hour == 9

        # The D-7 moment passes while the scheduler is down.
        first.scheduler.pause()
        missed = now - timedelta(minutes=5)
        first.scheduler.modify_job(job_id(rows[7]), next_run_time=missed)
        async with db.session() as session:
            await session.execute(update(Reminder).where(Reminder.id == rows[7].id).values(due_at=missed))
            await session.commit()
    finally:
        await first.stop()
        await second.stop()

    third = SchedulerHost(db, settings, clock, holder="third")
    await third.start()
    try:
        assert third.running
        fired = await asyncio.wait_for(third.fired.get(), timeout=20)
        assert fired == rows[7].id
        async with db.session() as session:
            keys = (await session.execute(select(Delivery.message_key))).scalars().all()
            row = await session.get(Reminder, rows[7].id)
        assert sorted(keys) == sorted([f"ann:{ann.id}", f"rem:{ann.id}:7"])
        assert row is not None and row.status == "fired"
        assert third.scheduler is not None and third.scheduler.get_job(job_id(rows[7])) is None
        assert third.scheduler.get_job(job_id(rows[3])) is not None
    finally:
        await third.stop()
