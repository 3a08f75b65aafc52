"""Subscribing and unsubscribing: the one service the REST API, Kakao and Telegram all call."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db import Database
from core.text import clean_display, compact
from notifier.models import CHANNELS, Subscriber, SubscriberTopic

ALL_TOPICS = "전체"
ALL_TOPICS_KEY = "*"
MAX_TOPICS = 30
MAX_TOPIC_CHARS = 40
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


class SubscriptionError(ValueError):
    """Input a person can fix: the message is shown to them (Korean)."""


def topic_key(topic: str) -> str:
    """Matching key of a topic: '스마트 물류' and '스마트물류' are one topic."""
    cleaned = clean_display(topic)
    return ALL_TOPICS_KEY if cleaned == ALL_TOPICS else compact(cleaned)


def clean_topics(topics: Iterable[str]) -> list[str]:
    """Display forms, de-duplicated by key, order kept; rejects empty and oversized ones."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in topics:
        if not isinstance(raw, str):
            raise SubscriptionError("관심 분야는 글자로 적어 주세요.")
        topic = clean_display(raw)
        if not topic:
            continue
        if len(topic) > MAX_TOPIC_CHARS:
            raise SubscriptionError(f"관심 분야는 {MAX_TOPIC_CHARS}자 이내로 적어 주세요.")
        key = topic_key(topic)
        if not key or key in seen:
            continue
        seen.add(key)
        result.append(topic)
    if len(result) > MAX_TOPICS:
        raise SubscriptionError(f"관심 분야는 {MAX_TOPICS}개까지 고를 수 있어요.")
    return result


def validate_address(channel: str, address: str) -> str:
    if channel not in CHANNELS:
        raise SubscriptionError("지원하지 않는 알림 채널이에요.")
    address = address.strip()
    if not address or len(address) > 500:
        raise SubscriptionError("받는 곳(주소)이 비어 있거나 너무 길어요.")
    if channel == "email" and not _EMAIL.match(address):
        raise SubscriptionError("전자우편 주소 형식이 아니에요.")
    if channel == "webhook" and not address.startswith(("https://", "http://")):
        raise SubscriptionError("웹훅 주소는 http(s):// 로 시작해야 해요.")
    if channel == "telegram" and not re.fullmatch(r"-?\d{1,20}", address):
        raise SubscriptionError("텔레그램 대화 번호가 아니에요.")
    return address.lower() if channel == "email" else address


@dataclass(frozen=True)
class _ConsentRecord:
    channel: str
    text: str | None
    confirmed: bool
    night_consent: bool


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    channel: str
    topics: tuple[str, ...]
    active: bool
    night_consent: bool
    unsubscribe_token: str


def _view(sub: Subscriber) -> SubscriptionView:
    return SubscriptionView(
        id=sub.id,
        channel=sub.channel,
        topics=tuple(sub.topics or ()),
        active=sub.active,
        night_consent=sub.night_consent,
        unsubscribe_token=sub.unsubscribe_token,
    )


class SubscriptionService:
    """Consent is required to subscribe and recorded with its time; night consent separately."""

    def __init__(self, db: Database, clock: Clock, known_topics: Sequence[str] = ()) -> None:
        self.db = db
        self.clock = clock
        # What quick replies offer (the 5 대표산업 and program categories from the KB).
        self.known_topics = list(known_topics)

    async def subscribe(
        self,
        channel: str,
        address: str,
        topics: Iterable[str],
        *,
        consent: bool,
        night_consent: bool = False,
        alt_address: str | None = None,
        consent_channel: str = "staff",
        consent_text: str | None = None,
        confirmed: bool = False,
    ) -> SubscriptionView:
        """Activate (or add topics to) a subscription. `consent_channel`/`consent_text`: where the
        user agreed and to what; kept with the subscriber. Topics added to an active subscription
        without a new text keep the first consent record. `confirmed`: an e-mail owner confirmed."""
        if not consent:
            raise SubscriptionError("알림을 받으려면 수신 동의가 필요해요.")
        address = validate_address(channel, address)
        wanted = clean_topics(topics)
        if not wanted:
            raise SubscriptionError("관심 분야를 하나 이상 골라 주세요.")
        record = _ConsentRecord(consent_channel[:12], consent_text, confirmed, night_consent)
        try:
            return await self._subscribe(channel, address, wanted, record, alt_address)
        except IntegrityError:
            # Another request of the same user inserted the row between our look-up and insert
            # (Kakao delivers quick taps together): the second try finds and updates that row.
            return await self._subscribe(channel, address, wanted, record, alt_address)

    async def _subscribe(
        self, channel: str, address: str, wanted: list[str], record: _ConsentRecord, alt_address: str | None
    ) -> SubscriptionView:
        now = self.clock.now()
        async with self.db.writing(), self.db.session() as session:
            sub = await self._find(session, channel, address)
            if sub is None:
                sub = Subscriber(channel=channel, address=address, created_at=now, topics=[], active=False)
                session.add(sub)
            if alt_address:
                sub.alt_address = alt_address
            if not sub.active or record.text is not None:
                sub.consent_at = now
                sub.consent_channel = record.channel
                sub.consent_text = record.text
            if record.confirmed:
                sub.confirmed_at = now
            sub.topics = clean_topics([*(sub.topics if sub.active else []), *wanted])
            sub.active = True
            sub.deactivated_at = None
            sub.deactivation_reason = None
            if record.night_consent:
                sub.night_consent_at = now
            sub.updated_at = now
            await session.flush()
            await self._write_topic_keys(session, sub)
            await session.commit()
            return _view(sub)

    async def set_topics(self, channel: str, address: str, topics: Iterable[str]) -> SubscriptionView:
        wanted = clean_topics(topics)
        async with self.db.writing(), self.db.session() as session:
            sub = await self._find(session, channel, validate_address(channel, address))
            if sub is None or not sub.active:
                raise SubscriptionError("알림 신청 내역이 없어요. 먼저 '알림 신청'을 해 주세요.")
            sub.topics = wanted
            sub.updated_at = self.clock.now()
            await self._write_topic_keys(session, sub)
            await session.commit()
            return _view(sub)

    async def set_night_consent(self, channel: str, address: str, consent: bool) -> SubscriptionView:
        async with self.db.writing(), self.db.session() as session:
            sub = await self._find(session, channel, validate_address(channel, address))
            if sub is None:
                raise SubscriptionError("알림 신청 내역이 없어요.")
            sub.night_consent_at = self.clock.now() if consent else None
            sub.updated_at = self.clock.now()
            await session.commit()
            return _view(sub)

    async def unsubscribe(self, channel: str, address: str, reason: str = "본인 해지") -> bool:
        """True when an active subscription was ended."""
        async with self.db.writing(), self.db.session() as session:
            sub = await self._find(session, channel, validate_address(channel, address))
            if sub is None or not sub.active:
                return False
            self._deactivate(sub, reason)
            await session.commit()
            return True

    async def unsubscribe_by_token(self, token: str) -> SubscriptionView | None:
        if not token or len(token) > 64:
            return None
        async with self.db.writing(), self.db.session() as session:
            sub = (
                await session.execute(select(Subscriber).where(Subscriber.unsubscribe_token == token))
            ).scalar_one_or_none()
            if sub is None:
                return None
            if sub.active:
                self._deactivate(sub, "수신 거부 링크")
                await session.commit()
            return _view(sub)

    async def get(self, channel: str, address: str) -> SubscriptionView | None:
        async with self.db.session() as session:
            sub = await self._find(session, channel, validate_address(channel, address))
            return _view(sub) if sub is not None else None

    async def topics_of(self, channel: str, address: str) -> list[str]:
        view = await self.get(channel, address)
        return list(view.topics) if view is not None and view.active else []

    def _deactivate(self, sub: Subscriber, reason: str) -> None:
        now = self.clock.now()
        sub.active = False
        sub.deactivated_at = now
        sub.deactivation_reason = reason[:300]
        sub.updated_at = now

    @staticmethod
    async def _find(session: AsyncSession, channel: str, address: str) -> Subscriber | None:
        result = await session.execute(
            select(Subscriber).where(Subscriber.channel == channel, Subscriber.address == address)
        )
        return result.scalar_one_or_none()

    @staticmethod
    async def _write_topic_keys(session: AsyncSession, sub: Subscriber) -> None:
        await session.execute(delete(SubscriberTopic).where(SubscriberTopic.subscriber_id == sub.id))
        keys = {topic_key(t) for t in sub.topics or []}
        session.add_all(SubscriberTopic(subscriber_id=sub.id, topic_key=k) for k in sorted(keys) if k)
