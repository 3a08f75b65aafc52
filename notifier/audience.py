"""Read-only counts for the staff console: who an announcement would reach, who subscribes,
and how many announcements went out per month."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, exists, func, select

from core.clock import KST, Clock, ensure_utc
from core.db import Database
from notifier.models import Announcement, OptinRequest, Subscriber, SubscriberTopic
from notifier.subscriptions import ALL_TOPICS_KEY, topic_key


async def audience_count(db: Database, topics: Iterable[str]) -> int:
    """Active subscribers an announcement with these topics is delivered to (the fan-out's match)."""
    keys = sorted({topic_key(t) for t in topics} | {ALL_TOPICS_KEY})
    matches = exists().where(and_(SubscriberTopic.subscriber_id == Subscriber.id, SubscriberTopic.topic_key.in_(keys)))
    async with db.session() as session:
        query = select(func.count()).select_from(Subscriber).where(Subscriber.active.is_(True), matches)
        return int(await session.scalar(query) or 0)


async def subscriber_counts(db: Database) -> dict[str, dict[str, int]]:
    """{channel: {"active": n, "inactive": m}}, channels in name order."""
    counts: dict[str, dict[str, int]] = {}
    async with db.session() as session:
        rows = await session.execute(
            select(Subscriber.channel, Subscriber.active, func.count())
            .group_by(Subscriber.channel, Subscriber.active)
            .order_by(Subscriber.channel)
        )
        for channel, active, count in rows.all():
            counts.setdefault(channel, {"active": 0, "inactive": 0})["active" if active else "inactive"] = int(count)
    return counts


async def topic_counts(db: Database) -> dict[str, int]:
    """Active subscribers per topic key ('*' = every topic)."""
    async with db.session() as session:
        rows = await session.execute(
            select(SubscriberTopic.topic_key, func.count())
            .join(Subscriber, Subscriber.id == SubscriberTopic.subscriber_id)
            .where(Subscriber.active.is_(True))
            .group_by(SubscriberTopic.topic_key)
            .order_by(func.count().desc(), SubscriberTopic.topic_key)
        )
        return {key: int(count) for key, count in rows.all()}


async def consent_counts(db: Database) -> dict[str | None, int]:
    """Active subscribers per channel their consent was given through (None: no consent on
    record, i.e. subscribed before consent was recorded)."""
    async with db.session() as session:
        rows = await session.execute(
            select(Subscriber.consent_channel, func.count())
            .where(Subscriber.active.is_(True))
            .group_by(Subscriber.consent_channel)
            .order_by(func.count().desc())
        )
        return {channel: int(count) for channel, count in rows.all()}


async def pending_optins(db: Database, clock: Clock) -> int:
    """E-mail sign-ups waiting for their owner to follow the mailed link (not yet expired)."""
    async with db.session() as session:
        query = (
            select(func.count())
            .select_from(OptinRequest)
            .where(
                OptinRequest.confirmed_at.is_(None),
                OptinRequest.last_sent_at.is_not(None),  # a mail that failed left no link to follow
                OptinRequest.expires_at > clock.now(),
            )
        )
        return int(await session.scalar(query) or 0)


async def published_per_month(db: Database, clock: Clock, months: int = 6) -> dict[str, int]:
    """{'2026-11': n, ...}: announcements published per KST month, oldest first."""
    today = clock.now().astimezone(KST).date()
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    counts: dict[str, int] = {}
    cursor: date = first
    while cursor <= today:
        counts[cursor.strftime("%Y-%m")] = 0
        cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    since = datetime.combine(first, time(0), tzinfo=KST)
    async with db.session() as session:
        rows = await session.scalars(select(Announcement.published_at).where(Announcement.published_at >= since))
        for moment in rows:
            key = ensure_utc(moment).astimezone(KST).strftime("%Y-%m")
            if key in counts:
                counts[key] += 1
    return counts
