"""E-mail double opt-in against a real SMTP server (aiosmtpd on loopback) and the real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.clock import KST, FixedClock
from core.db import Database
from core.settings import Settings
from knowledge_base.consent import load_alert_consent
from notifier.audience import audience_count
from notifier.models import Delivery, OptinRequest, Reminder, Subscriber
from notifier.optin import ConfirmationMailer, OptinService
from notifier.reminders import ReminderPlanner, SchedulerHost
from notifier.service import AnnouncementInput, AnnouncementService
from notifier.subscriptions import SubscriptionError, SubscriptionService
from tests.fakes.smtp import Inbox, confirm_link

pytestmark = pytest.mark.db

CONSENT = load_alert_consent().consent(21, 8)


@pytest.fixture
def optin(
    db: Database, notifier_settings: Settings, clock: FixedClock, subscriptions: SubscriptionService
) -> OptinService:
    mailer = ConfirmationMailer(notifier_settings, load_alert_consent())
    return OptinService(db, notifier_settings, clock, subscriptions, mailer)


def token_in(inbox: Inbox, address: str) -> str:
    link = confirm_link(inbox, address)
    assert link.startswith("https://alimi.example.kr/subscribe/confirm/")
    return link.rsplit("/", 1)[1]


async def request(optin: OptinService, address: str = "kim@example.kr", topics: tuple[str, ...] = ("스마트물류",)):
    return await optin.request(address, topics, consent=True, consent_channel="web", consent_text=CONSENT)


async def test_the_mail_is_korean_names_the_sender_topics_and_way_out_and_nothing_is_active_yet(
    optin: OptinService, smtp: tuple[Inbox, int], db: Database
) -> None:
    inbox, _ = smtp
    outcome = await request(optin)
    assert outcome.status == "sent" and outcome.topics == ("스마트물류",)
    (mail,) = inbox.to("kim@example.kr")
    assert "구독을 확인" in mail["Subject"]
    assert "=?utf-8?" in inbox.raw[0].decode("ascii").split("\n\n", 1)[0].lower()  # RFC 2047 subject
    body = mail.get_content()
    for needed in ("김포산업진흥원", "김포시 기업지원사업알리미", "관심 분야: 스마트물류", "수신 거부", CONSENT):
        assert needed in body
    assert "2026년 3월 4일(수) 10:00" in body  # 48 hours after 2026-03-02 10:00 KST
    token = token_in(inbox, "kim@example.kr")
    assert len(token) >= 40
    async with db.session() as session:
        stored = (await session.execute(select(OptinRequest))).scalar_one()
        subscribers = await session.scalar(select(func.count()).select_from(Subscriber))
    assert stored.token_hash != token and token not in repr(stored.__dict__)
    assert subscribers == 0


async def test_a_pending_address_gets_no_announcement_no_reminder_and_is_not_counted(
    optin: OptinService,
    smtp: tuple[Inbox, int],
    db: Database,
    notifier_settings: Settings,
    clock: FixedClock,
    subscriptions: SubscriptionService,
    announcements: AnnouncementService,
) -> None:
    await request(optin)
    await subscriptions.subscribe("telegram", "1001", ["스마트물류"], consent=True)
    planner = ReminderPlanner(db, notifier_settings, clock)
    announcements.listeners.append(planner)
    ann = await announcements.create(
        AnnouncementInput(
            title="스마트물류 설비 지원",
            topics=("스마트물류",),
            period_kind="dated",
            ends_at=datetime(2026, 3, 20, 18, 0, tzinfo=KST),
        )
    )
    assert await audience_count(db, ["스마트물류"]) == 1
    assert await announcements.publish(ann.id) == 1  # the Telegram subscriber only
    async with db.session() as session:
        reminder = (await session.execute(select(Reminder).where(Reminder.days_before == 3))).scalar_one()
    clock.set(reminder.due_at)
    assert await SchedulerHost(db, notifier_settings, clock).fire(reminder.id) == 1
    async with db.session() as session:
        channels = (await session.execute(select(Delivery.channel))).scalars().all()
    assert channels == ["telegram", "telegram"]


async def test_the_link_shows_then_activates_once_and_keeps_the_consent_record(
    optin: OptinService, smtp: tuple[Inbox, int], db: Database, clock: FixedClock, subscriptions: SubscriptionService
) -> None:
    inbox, _ = smtp
    await request(optin)
    token = token_in(inbox, "kim@example.kr")
    shown = await optin.peek(token)
    assert shown is not None and shown.topics == ("스마트물류",) and shown.consent_text == CONSENT
    assert await optin.peek(token) is not None  # looking does not use the link
    clock.advance(hours=1)
    view = await optin.confirm(token)
    assert view is not None and view.active and view.topics == ("스마트물류",)
    assert await optin.confirm(token) is None  # single use
    assert await optin.peek(token) is None
    async with db.session() as session:
        sub = (await session.execute(select(Subscriber))).scalar_one()
    assert sub.address == "kim@example.kr"
    assert sub.consent_channel == "web" and sub.consent_text == CONSENT
    assert sub.consent_at == sub.confirmed_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert await audience_count(db, ["스마트물류"]) == 1


async def test_an_expired_or_made_up_link_does_nothing(
    optin: OptinService, smtp: tuple[Inbox, int], db: Database, clock: FixedClock
) -> None:
    inbox, _ = smtp
    await request(optin)
    token = token_in(inbox, "kim@example.kr")
    assert await optin.confirm(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert await optin.confirm("") is None
    assert await optin.confirm("x" * 5000) is None
    clock.advance(hours=48)
    assert await optin.peek(token) is None
    assert await optin.confirm(token) is None
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Subscriber)) == 0


async def test_asking_again_resends_at_most_every_ten_minutes_and_only_the_latest_link_works(
    optin: OptinService, smtp: tuple[Inbox, int], clock: FixedClock, notifier_settings: Settings
) -> None:
    inbox, _ = smtp
    assert (await request(optin)).status == "sent"
    first = token_in(inbox, "kim@example.kr")
    clock.advance(minutes=5)
    again = await request(optin, topics=("관광레저",))
    assert again.status == "throttled" and again.topics == ("스마트물류", "관광레저")
    assert len(inbox.to("kim@example.kr")) == 1
    clock.advance(minutes=5)
    assert (await request(optin)).status == "sent"
    assert len(inbox.to("kim@example.kr")) == 2
    second = token_in(inbox, "kim@example.kr")
    assert "관심 분야: 스마트물류, 관광레저" in inbox.to("kim@example.kr")[-1].get_content()
    assert await optin.confirm(first) is None
    view = await optin.confirm(second)
    assert view is not None and view.topics == ("스마트물류", "관광레저")
    # However long someone keeps asking, one request mails at most optin_max_mails times.
    for _ in range(notifier_settings.optin_max_mails + 3):
        clock.advance(minutes=11)
        await request(optin, address="lee@example.kr")
    assert len(inbox.to("lee@example.kr")) == notifier_settings.optin_max_mails


async def test_an_active_address_is_not_duplicated_and_gains_the_confirmed_topics(
    optin: OptinService, smtp: tuple[Inbox, int], db: Database, subscriptions: SubscriptionService
) -> None:
    inbox, _ = smtp
    await subscriptions.subscribe("email", "kim@example.kr", ["관광레저"], consent=True)
    await request(optin, address="Kim@Example.kr")
    assert await subscriptions.topics_of("email", "kim@example.kr") == ["관광레저"]  # not before the link
    view = await optin.confirm(token_in(inbox, "kim@example.kr"))
    assert view is not None and view.topics == ("관광레저", "스마트물류")
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Subscriber)) == 1


async def test_a_mail_server_failure_is_reported_and_the_person_may_try_again_at_once(
    db: Database,
    notifier_settings: Settings,
    clock: FixedClock,
    subscriptions: SubscriptionService,
    smtp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, _ = smtp
    closed = notifier_settings.model_copy(update={"smtp_port": 1})
    broken = OptinService(db, closed, clock, subscriptions, ConfirmationMailer(closed, load_alert_consent()))
    assert (await request(broken)).status == "failed"
    # Staff see why in the log (which server), without the person's address.
    failure = [r.getMessage() for r in caplog.records if "confirmation mail not sent" in r.getMessage()]
    assert failure and ":1 " in failure[0]
    assert "kim@example.kr" not in caplog.text
    working = OptinService(
        db, notifier_settings, clock, subscriptions, ConfirmationMailer(notifier_settings, load_alert_consent())
    )
    assert (await request(working)).status == "sent"
    assert len(inbox.to("kim@example.kr")) == 1


async def test_consent_and_a_real_address_are_required(optin: OptinService, smtp: tuple[Inbox, int]) -> None:
    with pytest.raises(SubscriptionError):
        await optin.request("kim@example.kr", ["스마트물류"], consent=False, consent_channel="web", consent_text="x")
    with pytest.raises(SubscriptionError):
        await optin.request("kim", ["스마트물류"], consent=True, consent_channel="web", consent_text=CONSENT)
    with pytest.raises(SubscriptionError):
        await optin.request("kim@example.kr", [" "], consent=True, consent_channel="web", consent_text=CONSENT)
    assert smtp[0].messages == []


async def test_simultaneous_requests_for_one_address_make_one_pending_request_and_one_mail(
    db: Database, notifier_settings: Settings, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    """A double submit reaching several processes at once (each its own engine, so on SQLite its own
    write turn); on PostgreSQL each look-up found no pending row before any insert committed."""
    inbox, _ = smtp
    topics = ("스마트물류", "관광레저", "인증", "수출", "디자인", "특허")
    bases = [db, *(Database(db.settings) for _ in topics[1:])]
    try:
        services = [
            OptinService(
                base,
                notifier_settings,
                clock,
                SubscriptionService(base, clock),
                ConfirmationMailer(notifier_settings, load_alert_consent()),
            )
            for base in bases
        ]
        for base in bases:  # connected beforehand, so no request starts ahead of the others
            async with base.engine.connect() as conn:
                await conn.execute(select(1))
        outcomes = await asyncio.gather(
            *(request(service, topics=(topic,)) for service, topic in zip(services, topics, strict=True))
        )
    finally:
        for base in bases[1:]:
            await base.dispose()
    assert sorted(o.status for o in outcomes) == ["sent"] + ["throttled"] * (len(topics) - 1)
    async with db.session() as session:
        (pending,) = (await session.execute(select(OptinRequest))).scalars().all()
    assert sorted(pending.topics) == sorted(topics)
    assert len(inbox.to("kim@example.kr")) == 1
