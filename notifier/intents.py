"""Reminders for companies that said they will apply (the staff desk's application intents).

The desk keeps a chat user only as a hash of "channel:user_key" (no raw chat id), so an
intent is matched to an active chat subscriber by hashing the subscribers' own keys.
Only subscribers are reminded: an intent alone is no consent to be messaged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import select

from core.db import Database
from notifier.models import Subscriber

CHAT_CHANNELS = ("kakao", "telegram")


class RequesterKeyRecipients:
    """`IntentRecipients` over intents that name their chat user by a requester key."""

    def __init__(
        self,
        db: Database,
        keys_for_program: Callable[[str], Awaitable[set[str]]],
        key_of: Callable[[str, str], str],
    ) -> None:
        self.db = db
        self.keys_for_program = keys_for_program
        self.key_of = key_of

    async def subscriber_ids(self, program_id: str) -> Sequence[int]:
        keys = await self.keys_for_program(program_id)
        if not keys:
            return ()
        async with self.db.session() as session:
            rows = await session.execute(
                select(Subscriber.id, Subscriber.channel, Subscriber.address).where(
                    Subscriber.active.is_(True), Subscriber.channel.in_(CHAT_CHANNELS)
                )
            )
            return [sub_id for sub_id, channel, address in rows.all() if self.key_of(channel, address) in keys]
