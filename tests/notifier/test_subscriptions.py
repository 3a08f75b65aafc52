import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.reply import Message
from core.clock import FixedClock
from core.db import Database
from notifier.bot_port import NotifierSubscriptionPort
from notifier.models import Subscriber, SubscriberTopic
from notifier.subscriptions import SubscriptionError, SubscriptionService

pytestmark = pytest.mark.db


@pytest.fixture
def service(db: Database) -> SubscriptionService:
    return SubscriptionService(db, FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)), ["스마트물류", "관광레저"])


async def test_subscribe_needs_consent_and_a_topic(service: SubscriptionService) -> None:
    with pytest.raises(SubscriptionError):
        await service.subscribe("email", "a@example.kr", ["스마트물류"], consent=False)
    with pytest.raises(SubscriptionError):
        await service.subscribe("email", "a@example.kr", ["  "], consent=True)
    with pytest.raises(SubscriptionError):
        await service.subscribe("email", "not-an-address", ["스마트물류"], consent=True)


async def test_topics_merge_by_key_and_unsubscribe_by_token(service: SubscriptionService, db: Database) -> None:
    first = await service.subscribe("email", "A@Example.kr", ["스마트 물류"], consent=True)
    again = await service.subscribe("email", "a@example.kr", ["스마트물류", "관광레저"], consent=True)
    assert first.id == again.id
    assert again.topics == ("스마트 물류", "관광레저")
    async with db.session() as session:
        keys = (await session.execute(select(SubscriberTopic.topic_key))).scalars().all()
    assert sorted(keys) == sorted(["스마트물류", "관광레저"])
    view = await service.unsubscribe_by_token(again.unsubscribe_token)
    assert view is not None and not view.active
    assert await service.topics_of("email", "a@example.kr") == []
    assert await service.unsubscribe_by_token("nope") is None


async def test_bot_port_maps_kakao_and_telegram_users(service: SubscriptionService) -> None:
    port = NotifierSubscriptionPort(service)
    kakao = Message(channel="kakao", user_key="bk-1", text="알림 신청", profile={"plusfriendUserKey": "pf-1"})
    # A first subscription without the text agreed to is refused: the record would be empty.
    assert (await port.subscribe(kakao, ["스마트물류"], consent=True)).ok is False
    result = await port.subscribe(kakao, ["스마트물류"], consent=True, consent_text="동의 문구")
    assert result.ok and result.topics == ("스마트물류",)
    assert await port.topics_of(kakao) == ["스마트물류"]
    added = await port.subscribe(kakao, ["관광레저"], consent=True)  # more topics: the first consent stays
    assert added.ok and added.topics == ("스마트물류", "관광레저")
    async with service.db.session() as session:
        sub = (await session.execute(select(Subscriber).where(Subscriber.address == "bk-1"))).scalar_one()
    assert (sub.consent_channel, sub.consent_text, sub.confirmed_at) == ("kakao", "동의 문구", None)
    assert sub.alt_address == "pf-1"
    telegram = Message(channel="telegram", user_key="12345", text="/subscribe")
    assert (await port.subscribe(telegram, [], consent=True, consent_text="동의 문구")).ok is False
    assert (await port.unsubscribe(kakao)).ok
    assert (await port.unsubscribe(kakao)).ok is False
    web = Message(channel="web", user_key="s", text="알림 신청")
    assert (await port.subscribe(web, ["스마트물류"], consent=True)).ok is False


async def test_the_same_user_subscribing_twice_at_once_gets_one_row(service: SubscriptionService, db: Database) -> None:
    # Kakao can deliver two taps of one user together; both used to try the INSERT (seen in the
    # Kakao benchmark as UNIQUE constraint failures answered with "try again").
    views = await asyncio.gather(
        *(service.subscribe("kakao", "same-user", [topic], consent=True) for topic in ("소공인", "인증", "스마트물류"))
    )
    assert all(view.active for view in views)
    async with db.session() as session:
        rows = (await session.execute(select(Subscriber).where(Subscriber.address == "same-user"))).scalars().all()
    assert len(rows) == 1 and rows[0].active
    assert set(rows[0].topics) <= {"소공인", "인증", "스마트물류"} and rows[0].topics
