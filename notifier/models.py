"""Notifier tables: announcements, subscribers, the delivery outbox and reminders.

Every time column is `UtcDateTime`; every value comparable across SQLite and PostgreSQL.
Topic lists are JSON arrays of display strings (`core.text.clean_display`).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime

ChannelName = Literal["telegram", "kakao", "email", "webhook"]
CHANNELS: tuple[str, ...] = ("telegram", "kakao", "email", "webhook")

# How an application period is stated. "dated" has an end (and usually a start); the others
# are the open-ended forms portals print instead of a date. "unspecified" is an item that
# states no period at all: kept explicit rather than guessed from a posting date.
PeriodKind = Literal["dated", "상시", "예산 소진시", "추후 공지", "세부사업별 상이", "unspecified"]
PERIOD_KINDS: tuple[str, ...] = ("dated", "상시", "예산 소진시", "추후 공지", "세부사업별 상이", "unspecified")

AnnouncementStatus = Literal["draft", "published", "cancelled", "closed"]
DeliveryStatus = Literal["pending", "sending", "sent", "dead", "cancelled"]


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Announcement(Base):
    __tablename__ = "notifier_announcements"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), default="gopa")  # gopa (staff), bizinfo, kstartup ...
    source_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(1000), default=None)
    program_id: Mapped[str | None] = mapped_column(String(100), default=None)  # knowledge base Program.id
    organization: Mapped[str | None] = mapped_column(String(200), default=None)
    period_kind: Mapped[str] = mapped_column(String(20), default="unspecified")
    period_text: Mapped[str | None] = mapped_column(String(200), default=None)  # as the source printed it
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Title with 수정/재공고/연장 markers removed: versions of one notice share it.
    base_key: Mapped[str] = mapped_column(String(500), default="", index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "source_id": self.source_id,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "program_id": self.program_id,
            "organization": self.organization,
            "period_kind": self.period_kind,
            "period_text": self.period_text,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "status": self.status,
            "topics": list(self.topics or []),
            "regions": list(self.regions or []),
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }


class Subscriber(Base):
    __tablename__ = "notifier_subscribers"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(12))
    # Telegram chat id, Kakao botUserKey, e-mail address or webhook URL.
    address: Mapped[str] = mapped_column(String(500))
    # Kakao gives a second, channel-wide key; the Event API accepts either.
    alt_address: Mapped[str | None] = mapped_column(String(200), default=None)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # Where consent was given (kakao, telegram, web, cli, staff) and the text shown then: the
    # proof of prior consent 정보통신망법 제50조 asks for. None: consent from before this was kept.
    consent_channel: Mapped[str | None] = mapped_column(String(12), default=None)
    consent_text: Mapped[str | None] = mapped_column(Text, default=None)
    # When the owner of an e-mail address followed the confirmation link (double opt-in).
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    night_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    deactivation_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def night_consent(self) -> bool:
        return self.night_consent_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "topics": list(self.topics or []),
            "active": self.active,
            "consent_at": self.consent_at.isoformat() if self.consent_at else None,
            "consent_channel": self.consent_channel,
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "night_consent": self.night_consent,
            "deactivation_reason": self.deactivation_reason,
        }


class OptinRequest(Base):
    """An e-mail subscription waiting for its confirmation link: not a subscriber until then,
    so no fan-out, reminder or audience count can reach it. Only the token's hash is kept."""

    __tablename__ = "notifier_optin_requests"
    # One pending request per address: two requests at once must not mail two links.
    __table_args__ = (
        Index(
            "uq_notifier_optin_requests_pending_address",
            "address",
            unique=True,
            sqlite_where=text("confirmed_at IS NULL"),
            postgresql_where=text("confirmed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), default="email")
    address: Mapped[str] = mapped_column(String(500), index=True)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    consent_channel: Mapped[str] = mapped_column(String(12))
    consent_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SubscriberTopic(Base):
    """One row per (subscriber, topic key): lets publishing match with one set-based join."""

    __tablename__ = "notifier_subscriber_topics"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("notifier_subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    topic_key: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class Delivery(Base):
    """The outbox: one row per (subscriber, message); the unique key makes sending idempotent."""

    __tablename__ = "notifier_deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "message_key"),
        Index("ix_notifier_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("notifier_subscribers.id", ondelete="CASCADE"))
    announcement_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifier_announcements.id", ondelete="CASCADE"), default=None
    )
    # "ann:{id}" for the announcement itself, "rem:{id}:{days}" for a reminder.
    message_key: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    external_id: Mapped[str | None] = mapped_column(String(100), default=None)  # message id / Kakao taskId
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Reminder(Base):
    """A deadline reminder the scheduler fires; the row is what staff see and what survives."""

    __tablename__ = "notifier_reminders"
    __table_args__ = (UniqueConstraint("announcement_id", "days_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("notifier_announcements.id", ondelete="CASCADE"))
    days_before: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled, fired, cancelled
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Lease(Base):
    """A named lease: the one process holding 'scheduler' runs the reminder scheduler."""

    __tablename__ = "notifier_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
