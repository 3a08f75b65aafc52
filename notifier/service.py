"""Announcements: create, edit, publish (fan-out into the outbox), cancel and close.

Fan-out is one set-based `INSERT ... SELECT ... ON CONFLICT DO NOTHING`: the unique
(subscriber, message key) makes publishing twice, or a retried publish, a no-op.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, case, exists, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import KST, Clock
from core.db import Database, UtcDateTime
from core.settings import Settings
from core.text import clean_display, compact
from notifier.models import PERIOD_KINDS, Announcement, Delivery, Subscriber, SubscriberTopic
from notifier.subscriptions import ALL_TOPICS_KEY, clean_topics, topic_key


class AnnouncementError(ValueError):
    """Input staff can fix (shown as a 4xx)."""


class IntentRecipients(Protocol):
    """Extra subscriber ids to remind for a program (companies with an application intent).

    The staff desk fills this in; the default reminds only topic subscribers."""

    async def subscriber_ids(self, program_id: str) -> Sequence[int]: ...


class NoIntentRecipients:
    async def subscriber_ids(self, program_id: str) -> Sequence[int]:
        return ()


def in_quiet_hours(moment: datetime, settings: Settings) -> bool:
    hour = moment.astimezone(KST).hour
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    return hour >= start or hour < end if start > end else start <= hour < end


def quiet_hours_end(moment: datetime, settings: Settings) -> datetime:
    """The next end of quiet hours (08:00 KST) at or after `moment`."""
    local = moment.astimezone(KST)
    end = datetime.combine(local.date(), time(settings.quiet_hours_end), tzinfo=KST)
    if end <= local:
        end += timedelta(days=1)
    return end


def earliest_send(moment: datetime, settings: Settings) -> datetime:
    """When a subscriber without night consent may be messaged: now, or 08:00 KST."""
    return quiet_hours_end(moment, settings) if in_quiet_hours(moment, settings) else moment


@dataclass(frozen=True)
class AnnouncementInput:
    title: str
    body: str = ""
    url: str | None = None
    topics: tuple[str, ...] = ()
    program_id: str | None = None
    organization: str | None = None
    period_kind: str = "unspecified"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source: str = "gopa"
    source_id: str | None = None
    period_text: str | None = None
    regions: tuple[str, ...] = ()


def message_key_for(announcement_id: int, days_before: int | None = None) -> str:
    return f"ann:{announcement_id}" if days_before is None else f"rem:{announcement_id}:{days_before}"


class AnnouncementListener(Protocol):
    """Told when an announcement's deadline or status changes (the reminder scheduler)."""

    async def announcement_changed(self, announcement: Announcement) -> None: ...


class AnnouncementService:
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
        self.intents: IntentRecipients = intents or NoIntentRecipients()
        self.listeners: list[AnnouncementListener] = []
        # The knowledge base's programs a 공고 may be linked to; None: not checked (readers only).
        self.program_ids = frozenset(program_ids) if program_ids is not None else None

    # --- editing ---------------------------------------------------------------------------

    def _validate(self, data: AnnouncementInput) -> AnnouncementInput:
        title = clean_display(data.title)
        if not title or len(title) > 500:
            raise AnnouncementError("공고 제목은 1~500자여야 해요.")
        if data.program_id is not None and self.program_ids is not None and data.program_id not in self.program_ids:
            raise AnnouncementError(f"없는 지원사업이에요: {data.program_id}. 목록에 있는 지원사업을 골라 주세요.")
        if data.url and not data.url.startswith(("https://", "http://")):
            # The bot links it from a card, and only a web address can be a link there.
            raise AnnouncementError("공고 주소는 http:// 또는 https:// 로 시작해야 해요.")
        if data.period_kind not in PERIOD_KINDS:
            raise AnnouncementError(f"접수 기간 종류는 {', '.join(PERIOD_KINDS)} 중 하나예요.")
        for moment in (data.starts_at, data.ends_at):
            if moment is not None and moment.tzinfo is None:
                raise AnnouncementError("시각에는 시간대가 있어야 해요 (예: +09:00).")
        if data.period_kind == "dated" and data.ends_at is None:
            raise AnnouncementError("기간이 있는 공고는 마감 시각(ends_at)이 필요해요.")
        if data.period_kind != "dated" and data.ends_at is not None:
            raise AnnouncementError("마감 시각은 period_kind가 dated일 때만 적어요.")
        if data.starts_at and data.ends_at and data.starts_at > data.ends_at:
            raise AnnouncementError("접수 시작이 마감보다 늦어요.")
        try:
            topics = tuple(clean_topics(data.topics))
        except ValueError as exc:
            raise AnnouncementError(str(exc)) from exc
        return AnnouncementInput(**{**data.__dict__, "title": title, "topics": topics})

    async def create(self, data: AnnouncementInput) -> Announcement:
        data = self._validate(data)
        now = self.clock.now()
        async with self.db.session() as session:
            ann = Announcement(
                source=data.source,
                source_id=data.source_id or "",
                title=data.title,
                body=data.body,
                url=data.url,
                topics=list(data.topics),
                regions=list(data.regions),
                program_id=data.program_id,
                organization=data.organization,
                period_kind=data.period_kind,
                period_text=data.period_text,
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                status="draft",
                base_key=data.title,
                created_at=now,
                updated_at=now,
            )
            session.add(ann)
            await session.flush()
            if not ann.source_id:
                ann.source_id = str(ann.id)
            await session.commit()
            return ann

    async def update(self, announcement_id: int, changes: dict[str, Any]) -> Announcement:
        async with self.db.session() as session:
            ann = await self._get(session, announcement_id)
            if ann.status in ("cancelled", "closed"):
                raise AnnouncementError("취소되었거나 마감된 공고는 고칠 수 없어요.")
            current = AnnouncementInput(
                title=ann.title,
                body=ann.body,
                url=ann.url,
                topics=tuple(ann.topics or ()),
                program_id=ann.program_id,
                organization=ann.organization,
                period_kind=ann.period_kind,
                starts_at=ann.starts_at,
                ends_at=ann.ends_at,
                source=ann.source,
                source_id=ann.source_id,
                period_text=ann.period_text,
                regions=tuple(ann.regions or ()),
            )
            unknown = set(changes) - set(current.__dict__)
            if unknown:
                raise AnnouncementError(f"고칠 수 없는 항목: {', '.join(sorted(unknown))}")
            data = self._validate(AnnouncementInput(**{**current.__dict__, **changes}))
            for field in ("title", "body", "url", "program_id", "organization", "period_kind", "period_text"):
                setattr(ann, field, getattr(data, field))
            ann.starts_at, ann.ends_at = data.starts_at, data.ends_at
            ann.topics, ann.regions = list(data.topics), list(data.regions)
            ann.updated_at = self.clock.now()
            await session.commit()
        await self._notify(ann)
        return ann

    async def get(self, announcement_id: int) -> Announcement:
        async with self.db.session() as session:
            return await self._get(session, announcement_id)

    async def list(self, status: str | None = None, limit: int = 100, offset: int = 0) -> list[Announcement]:
        query = select(Announcement).order_by(Announcement.id.desc()).limit(limit).offset(offset)
        if status:
            query = query.where(Announcement.status == status)
        async with self.db.session() as session:
            return list((await session.execute(query)).scalars())

    async def open_by_program(self) -> dict[str, list[Announcement]]:
        """Published announcements linked to a knowledge-base program and still taking
        applications (no deadline, or one still ahead), per program, the nearest deadline first."""
        query = (
            select(Announcement)
            .where(
                Announcement.program_id.is_not(None),
                Announcement.status == "published",
                or_(Announcement.ends_at.is_(None), Announcement.ends_at > self.clock.now()),
            )
            .order_by(Announcement.ends_at.is_(None), Announcement.ends_at, Announcement.id.desc())
        )
        async with self.db.session() as session:
            rows = (await session.execute(query)).scalars()
            by_program: dict[str, list[Announcement]] = {}
            for ann in rows:
                by_program.setdefault(str(ann.program_id), []).append(ann)
            return by_program

    # --- lifecycle ---------------------------------------------------------------------------

    async def publish(self, announcement_id: int) -> int:
        """Publish (idempotent) and fan out; returns how many deliveries were created now."""
        now = self.clock.now()
        async with self.db.session() as session:
            ann = await self._get(session, announcement_id)
            if ann.status in ("cancelled", "closed"):
                raise AnnouncementError("취소되었거나 마감된 공고는 발행할 수 없어요.")
            if ann.status == "draft":
                ann.status = "published"
                ann.published_at = now
                ann.updated_at = now
            created = await self.fan_out(session, ann, message_key_for(ann.id))
            await session.commit()
        await self._notify(ann)
        return created

    async def cancel(self, announcement_id: int) -> Announcement:
        return await self._end(announcement_id, "cancelled")

    async def close(self, announcement_id: int) -> Announcement:
        return await self._end(announcement_id, "closed")

    async def _end(self, announcement_id: int, status: str) -> Announcement:
        now = self.clock.now()
        async with self.db.session() as session:
            ann = await self._get(session, announcement_id)
            ann.status = status
            ann.updated_at = now
            # What has not gone out yet is withdrawn with it.
            await session.execute(
                update(Delivery)
                .where(Delivery.announcement_id == ann.id, Delivery.status == "pending")
                .values(status="cancelled", last_error=f"공고 {status}")
            )
            await session.commit()
        await self._notify(ann)
        return ann

    async def fan_out(
        self, session: AsyncSession, ann: Announcement, message_key: str, extra_subscribers: Iterable[int] = ()
    ) -> int:
        """One pending delivery per active matching subscriber, in one statement."""
        now = self.clock.now()
        keys = sorted(
            {topic_key(t) for t in ann.topics or []} | {ALL_TOPICS_KEY} | await self._keywords_in(session, ann)
        )
        matches = exists().where(
            and_(SubscriberTopic.subscriber_id == Subscriber.id, SubscriberTopic.topic_key.in_(keys))
        )
        extra = sorted(set(extra_subscribers))
        who = matches if not extra else (matches | Subscriber.id.in_(extra))
        due = case(
            (Subscriber.night_consent_at.is_(None), literal(earliest_send(now, self.settings), UtcDateTime())),
            else_=literal(now, UtcDateTime()),
        )
        selected = select(
            Subscriber.id,
            literal(ann.id),
            literal(message_key),
            Subscriber.channel,
            literal("pending"),
            literal(0),
            due,
            literal(now, UtcDateTime()),
        ).where(Subscriber.active.is_(True), who)
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert_fn(Delivery)
            .from_select(
                [
                    "subscriber_id",
                    "announcement_id",
                    "message_key",
                    "channel",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                selected,
            )
            .on_conflict_do_nothing(index_elements=["subscriber_id", "message_key"])
        )
        if dialect == "postgresql":
            # psycopg reports no row count for INSERT ... SELECT ... ON CONFLICT: count RETURNING.
            returned = await session.execute(statement.returning(Delivery.id))
            return len(returned.all())
        result = await session.execute(statement)
        return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]

    @staticmethod
    async def _keywords_in(session: AsyncSession, ann: Announcement) -> set[str]:
        """Subscribers' free keywords (e.g. 수출, 드론) found in the title match too."""
        title = compact(ann.title)
        known = (await session.execute(select(SubscriberTopic.topic_key).distinct())).scalars()
        return {key for key in known if len(key) >= 2 and key in title}

    async def _notify(self, ann: Announcement) -> None:
        for listener in self.listeners:
            await listener.announcement_changed(ann)

    @staticmethod
    async def _get(session: AsyncSession, announcement_id: int) -> Announcement:
        ann = await session.get(Announcement, announcement_id)
        if ann is None:
            raise LookupError(f"공고 {announcement_id}번이 없어요.")
        return ann
