"""Button payloads behind Telegram's 64-byte callback data, shared by every process.

No python-telegram-bot import here: the table must be known (create_all, migrations) even
when the service runs without a Telegram token.

`CallbackKeys` (bot.render.telegram) hands out content-hash keys and keeps them in memory;
this table keeps them for the other API processes and across restarts, so a button pressed
on any replica, or after a deploy, still means what it said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, Database, UtcDateTime


@dataclass(frozen=True)
class CallbackPayload:
    """What a button sends back: the message and its quick-reply extra."""

    message: str
    extra: dict[str, str] | None = None


class TelegramCallbackRow(Base):
    __tablename__ = "telegram_callbacks"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    message: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DbCallbackStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def save(self, payloads: dict[str, CallbackPayload]) -> None:
        """Store new keys; a key is a hash of its payload, so an existing one is already right."""
        if not payloads:
            return
        async with self._db.session() as session:
            known = set(
                await session.scalars(select(TelegramCallbackRow.key).where(TelegramCallbackRow.key.in_(payloads)))
            )
            now = self._clock.now()
            session.add_all(
                TelegramCallbackRow(key=key, message=p.message, extra=p.extra, created_at=now)
                for key, p in payloads.items()
                if key not in known
            )
            await session.commit()

    async def load(self, key: str) -> CallbackPayload | None:
        async with self._db.session() as session:
            row = await session.get(TelegramCallbackRow, key)
        return CallbackPayload(row.message, dict(row.extra) if row.extra else None) if row is not None else None
