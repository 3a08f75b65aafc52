"""Per-user dialogue state, kept between turns so follow-up questions stay on the same program.

One `UserState` per (channel, user_key). Besides what the dialogue itself remembers (the program in
context, the last intent, the list page), it carries a generic API for multi-turn flows that other
features plug in (eligibility questions, the hand-off form):

- `state.flow`: the name of the active flow (registered in `bot.flows.FlowRegistry`), or None.
  While it is set, the dialogue hands every message to that flow first.
- `state.slots`: a JSON-able dict the active flow owns (answers collected so far). Use
  `state.start_flow(name)` to begin (clears the slots) and `state.end_flow()` to finish.

Three stores implement `ContextStore` (setting DIALOGUE_CONTEXT_STORE):
- `HybridContextStore` ("hybrid", the default): an LRU in front of the `dialogue_states` table.
  Only states in a flow (eligibility facts, hand-off form) are written through to the table, so
  they survive a restart and are seen by every process; plain Q&A context (the program in
  context) stays in memory, and the Kakao hot path does no database write.
- `MemoryContextStore` ("memory"): the LRU alone (one process, nothing survives a restart).
- `DbContextStore` ("db"): every state in the table.
All forget a state `ttl_s` seconds after its last save.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, Database, UtcDateTime


@dataclass
class UserState:
    program_id: str | None = None  # the program the conversation is about
    last_intent: str | None = None
    flow: str | None = None  # active multi-turn flow, see bot.flows
    slots: dict[str, Any] = field(default_factory=dict)  # owned by the active flow
    page: int = 0  # page of the last paged list (더보기)

    def start_flow(self, name: str, **slots: Any) -> None:
        self.flow = name
        self.slots = dict(slots)

    def end_flow(self) -> None:
        self.flow = None
        self.slots = {}

    def to_json(self) -> bytes:
        return orjson.dumps(self)

    @classmethod
    def from_json(cls, raw: str | bytes) -> UserState:
        data = orjson.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ContextStore(Protocol):
    async def load(self, channel: str, user_key: str) -> UserState:
        """The user's state, or a fresh one when none is stored or it expired."""
        ...

    async def save(self, channel: str, user_key: str, state: UserState) -> None: ...

    async def clear(self, channel: str, user_key: str) -> None: ...


class MemoryContextStore:
    """An LRU of states with a time-to-live; bounded so a flood of new users cannot grow it."""

    def __init__(self, clock: Clock, ttl_s: float, max_users: int = 50_000) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._max = max_users
        self._states: OrderedDict[tuple[str, str], tuple[datetime, bytes]] = OrderedDict()

    async def load(self, channel: str, user_key: str) -> UserState:
        key = (channel, user_key)
        entry = self._states.get(key)
        if entry is None:
            return UserState()
        saved_at, raw = entry
        if self._clock.now() - saved_at > self._ttl:
            del self._states[key]
            return UserState()
        self._states.move_to_end(key)
        # Stored serialised so a caller mutating its copy never changes the stored state.
        return UserState.from_json(raw)

    async def save(self, channel: str, user_key: str, state: UserState) -> None:
        key = (channel, user_key)
        self._states[key] = (self._clock.now(), state.to_json())
        self._states.move_to_end(key)
        while len(self._states) > self._max:
            self._states.popitem(last=False)

    async def clear(self, channel: str, user_key: str) -> None:
        self._states.pop((channel, user_key), None)

    def __len__(self) -> int:
        return len(self._states)


class DialogueStateRow(Base):
    __tablename__ = "dialogue_states"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class DbContextStore:
    """States in the `dialogue_states` table, shared by every process using the database."""

    def __init__(self, db: Database, clock: Clock, ttl_s: float) -> None:
        self._db = db
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)

    async def load(self, channel: str, user_key: str) -> UserState:
        async with self._db.session() as session:
            row = await session.scalar(
                select(DialogueStateRow).where(
                    DialogueStateRow.channel == channel, DialogueStateRow.user_key == user_key
                )
            )
        if row is None or self._clock.now() - row.updated_at > self._ttl:
            return UserState()
        return UserState.from_json(row.state)

    async def save(self, channel: str, user_key: str, state: UserState) -> None:
        async with self._db.session() as session:
            row = await session.get(DialogueStateRow, (channel, user_key))
            if row is None:
                session.add(
                    DialogueStateRow(
                        channel=channel, user_key=user_key, state=state.to_json().decode(), updated_at=self._clock.now()
                    )
                )
            else:
                row.state = state.to_json().decode()
                row.updated_at = self._clock.now()
            await session.commit()

    async def clear(self, channel: str, user_key: str) -> None:
        async with self._db.session() as session:
            await session.execute(
                delete(DialogueStateRow).where(
                    DialogueStateRow.channel == channel, DialogueStateRow.user_key == user_key
                )
            )
            await session.commit()

    async def purge_expired(self) -> int:
        """Delete states past their TTL; returns how many went."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(DialogueStateRow).where(DialogueStateRow.updated_at < self._clock.now() - self._ttl)
            )
            await session.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class HybridContextStore:
    """Write-through for flow states, memory-only for plain context.

    A state goes to the table when it carries a flow or flow slots, and its row is deleted when it
    stops carrying one. A memory miss reads the table, so a restart or another process continues
    a flow. A state known to be in the table is always re-read from it on load, so a flow moved on
    by another process is not answered from a stale copy. Limit: a plain-context entry cached here
    does not see a flow another process started for the same user since; such a deployment routes
    a user to one process or uses the "db" store.
    """

    def __init__(self, db: Database, clock: Clock, ttl_s: float, max_users: int = 50_000) -> None:
        self._table = DbContextStore(db, clock, ttl_s)
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._max = max_users
        # (last save, serialised state, whether the table holds it)
        self._states: OrderedDict[tuple[str, str], tuple[datetime, bytes, bool]] = OrderedDict()

    async def load(self, channel: str, user_key: str) -> UserState:
        key = (channel, user_key)
        entry = self._states.get(key)
        if entry is not None and self._clock.now() - entry[0] <= self._ttl and not entry[2]:
            self._states.move_to_end(key)
            return UserState.from_json(entry[1])
        state = await self._table.load(channel, user_key)
        # Remember whether the table has this state, so `save` knows when a row must be deleted.
        self._remember(key, state.to_json(), _in_flow(state))
        return state

    async def save(self, channel: str, user_key: str, state: UserState) -> None:
        key = (channel, user_key)
        entry = self._states.get(key)
        was_stored = entry[2] if entry is not None else True  # unknown (evicted): assume a row
        in_flow = _in_flow(state)
        if in_flow:
            await self._table.save(channel, user_key, state)
        elif was_stored:
            await self._table.clear(channel, user_key)
        self._remember(key, state.to_json(), in_flow)

    async def clear(self, channel: str, user_key: str) -> None:
        self._states.pop((channel, user_key), None)
        await self._table.clear(channel, user_key)

    async def purge_expired(self) -> int:
        return await self._table.purge_expired()

    def _remember(self, key: tuple[str, str], raw: bytes, stored: bool) -> None:
        self._states[key] = (self._clock.now(), raw, stored)
        self._states.move_to_end(key)
        while len(self._states) > self._max:
            self._states.popitem(last=False)


def _in_flow(state: UserState) -> bool:
    return bool(state.flow or state.slots)
