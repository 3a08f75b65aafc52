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
  Only states in a flow (eligibility facts, hand-off form) go to the table, so they survive a
  restart and are seen by every process; plain Q&A context (the program in context) stays in
  memory. Flow states are written behind the answer by a background writer, so no answer waits
  for a database write (see the class for what a crash can lose).
- `MemoryContextStore` ("memory"): the LRU alone (one process, nothing survives a restart).
- `DbContextStore` ("db"): every state in the table.
All forget a state `ttl_s` seconds after its last save.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import String, Text, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, Database, UtcDateTime
from core.privacy import mask_pii

log = logging.getLogger(__name__)

MAX_USER_KEY = 128  # the table's column: every channel bounds its user ids to this where they come in


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
    user_key: Mapped[str] = mapped_column(String(MAX_USER_KEY), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class DbContextStore:
    """States in the `dialogue_states` table, shared by every process using the database."""

    def __init__(self, db: Database, clock: Clock, ttl_s: float) -> None:
        self._db = db
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)

    async def load(self, channel: str, user_key: str) -> UserState:
        # Core statements on a pooled connection: about half the cost of an ORM session per turn.
        async with self._db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(DialogueStateRow.state, DialogueStateRow.updated_at).where(
                        DialogueStateRow.channel == channel, DialogueStateRow.user_key == user_key
                    )
                )
            ).first()
        if row is None or self._clock.now() - row.updated_at > self._ttl:
            return UserState()
        return UserState.from_json(row.state)

    async def save(self, channel: str, user_key: str, state: UserState) -> None:
        insert = postgresql.insert if self._db.engine.dialect.name == "postgresql" else sqlite.insert
        # One upsert: two requests of one user at once must not both try to insert the row.
        statement = insert(DialogueStateRow).values(
            channel=channel, user_key=user_key, state=state.to_json().decode(), updated_at=self._clock.now()
        )
        statement = statement.on_conflict_do_update(
            index_elements=["channel", "user_key"],
            set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
        )
        async with self._db.writing(), self._db.engine.begin() as conn:
            await conn.execute(statement)

    async def write_many(self, batch: Mapping[tuple[str, str], tuple[datetime, bytes | None]]) -> None:
        """In one transaction, upsert each (saved at, state) or delete the row where the state is None."""
        rows = [
            {"channel": channel, "user_key": user_key, "state": raw.decode(), "updated_at": saved_at}
            for (channel, user_key), (saved_at, raw) in batch.items()
            if raw is not None
        ]
        gone = [key for key, (_, raw) in batch.items() if raw is None]
        insert = postgresql.insert if self._db.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(DialogueStateRow)
        statement = statement.on_conflict_do_update(
            index_elements=["channel", "user_key"],
            set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
        )
        async with self._db.writing(), self._db.engine.begin() as conn:
            if rows:
                await conn.execute(statement, rows)
            for channel, user_key in gone:
                await conn.execute(
                    delete(DialogueStateRow).where(
                        DialogueStateRow.channel == channel, DialogueStateRow.user_key == user_key
                    )
                )

    async def clear(self, channel: str, user_key: str) -> None:
        async with self._db.writing(), self._db.session() as session:
            await session.execute(
                delete(DialogueStateRow).where(
                    DialogueStateRow.channel == channel, DialogueStateRow.user_key == user_key
                )
            )
            await session.commit()

    async def live_keys(self) -> set[tuple[str, str]]:
        """(channel, user_key) of every state not yet expired."""
        async with self._db.engine.connect() as conn:
            rows = await conn.execute(
                select(DialogueStateRow.channel, DialogueStateRow.user_key).where(
                    DialogueStateRow.updated_at >= self._clock.now() - self._ttl
                )
            )
            return {(row.channel, row.user_key) for row in rows}

    async def purge_expired(self) -> int:
        """Delete states past their TTL; returns how many went."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(DialogueStateRow).where(DialogueStateRow.updated_at < self._clock.now() - self._ttl)
            )
            await session.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class HybridContextStore:
    """Flow states written behind the answer, plain context in memory only.

    A state goes to the table when it carries a flow or flow slots, and its row is deleted when it
    stops carrying one. Neither happens on the answer's path: `save` and `clear` only record the
    latest state of the user (None: delete the row) as pending, and a background writer
    (`start`/`stop`, owned by `api.container.Services`) writes everything pending once per round
    in one transaction, so a burst of flow turns costs one commit and several turns of one user
    in a round cost one row write. Written through instead, each flow turn waited for its own
    SQLite commit, which took the Kakao p99 at concurrency 32 from ~60 ms to ~700 ms.

    The trade-off: a round starts `flush_s` (default 0.1 s) after the first change it carries, so
    a crash of the process loses at most the flow answers of the last ~0.1 s plus one commit's
    time (the users concerned answer that one question again); a clean `stop()` or `flush()`
    loses nothing. 0.1 s is far below the time anyone takes to type the next answer, and at the
    benchmark's rate (~300 flow turns/s) still batches ~30 states per commit. A round that fails
    is written again state by state, so a state the table refuses (say a key longer than its
    column) does not hold back everyone else's; what is still unwritten is logged and retried with
    the next round (backing off to `_MAX_RETRY_S`), and states written later win over it. A state
    the table refuses on its own `_MAX_REFUSALS` times is given up (logged; still answered from
    memory while this process holds it); while the database refuses every row, nothing is given up.

    Reads see what this process wrote before the table does (pending and in-flight states are
    answered from memory), and every write goes through the one writer in order, so a state
    cleared after a save is never resurrected by a late flush. Without a started writer (the CLI,
    tests) states stay pending until `flush()` or `stop()`; `Services.close` calls `stop()`.

    A state this process does not hold is read from the table when the table has it: the keys of
    the table's live rows are fetched at most once per `sync_s` seconds (flows are few), so a user
    new to this process costs no query of their own on the Kakao hot path, while a restart or
    another process still continues a flow. Limits: a state this process holds is answered from
    memory, so a flow another process moved on or started for the same user is not seen here;
    a deployment with several processes routes a user to one process (sticky sessions) or uses
    the "db" store.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ttl_s: float,
        max_users: int = 50_000,
        sync_s: float = 1.0,
        flush_s: float = 0.1,
    ) -> None:
        self._table = DbContextStore(db, clock, ttl_s)
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._max = max_users
        self._sync = timedelta(seconds=sync_s)
        self._flush_s = flush_s
        # (last save, serialised state, whether the table holds it or will once written)
        self._states: OrderedDict[tuple[str, str], tuple[datetime, bytes, bool]] = OrderedDict()
        self._stored: set[tuple[str, str]] = set()  # keys with a live row, as of `_synced_at`
        self._synced_at: datetime | None = None
        self._syncing: asyncio.Task[set[tuple[str, str]]] | None = None
        # Latest (save time, state) of each user not yet written; state None deletes the row.
        self._pending: dict[tuple[str, str], tuple[datetime, bytes | None]] = {}
        self._in_flight: dict[tuple[str, str], tuple[datetime, bytes | None]] = {}
        self._refusals: dict[tuple[str, str], int] = {}  # rounds in which the table refused the key's row
        self._round = asyncio.Lock()  # one round at a time, so writes reach the table in order
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    async def load(self, channel: str, user_key: str) -> UserState:
        key = (channel, user_key)
        now = self._clock.now()
        entry = self._states.get(key)
        if entry is not None and now - entry[0] <= self._ttl:
            self._states.move_to_end(key)
            return UserState.from_json(entry[1])
        unwritten = self._pending.get(key) or self._in_flight.get(key)
        if unwritten is not None:  # newer than the table's row, even when the LRU forgot it
            saved_at, raw = unwritten
            if raw is None or now - saved_at > self._ttl:
                return UserState()
            state = UserState.from_json(raw)
        else:
            state = await self._table.load(channel, user_key) if await self._in_table(key) else UserState()
        # Remember whether the table has this state, so `save` knows when a row must be deleted.
        self._remember(key, state.to_json(), _in_flow(state))
        return state

    async def save(self, channel: str, user_key: str, state: UserState) -> None:
        key = (channel, user_key)
        entry = self._states.get(key)
        if entry is not None:
            was_stored = entry[2]
        else:
            was_stored = key in self._stored or key in self._pending or key in self._in_flight
        in_flow = _in_flow(state)
        raw = state.to_json()
        if in_flow:
            self._write_behind(key, raw)
            self._stored.add(key)
        elif was_stored:
            self._write_behind(key, None)
            self._stored.discard(key)
        self._remember(key, raw, in_flow)

    async def clear(self, channel: str, user_key: str) -> None:
        key = (channel, user_key)
        self._states.pop(key, None)
        self._stored.discard(key)
        self._write_behind(key, None)

    async def purge_expired(self) -> int:
        return await self._table.purge_expired()

    async def start(self) -> None:
        """Start the background writer (in the running event loop)."""
        if self._writer is None or self._writer.done():
            self._stopping.clear()
            self._writer = asyncio.create_task(self._write_rounds(), name="dialogue-state-writer")

    async def stop(self) -> None:
        """Write everything pending and end the writer: no write is in flight afterwards. Safe twice."""
        if self._writer is not None:
            self._stopping.set()
            self._changed.set()
            await self._writer
            self._writer = None
        try:
            await self.flush()
        except Exception as error:
            log.error("%s at shutdown (%d lost)", error, len(self._pending))

    async def flush(self) -> None:
        """Write every pending state now (after a round already in flight); raises if the write fails."""
        async with self._round:
            await self._write_pending()

    @property
    def running(self) -> bool:
        return self._writer is not None and not self._writer.done()

    def _write_behind(self, key: tuple[str, str], raw: bytes | None) -> None:
        self._pending[key] = (self._clock.now(), raw)
        self._changed.set()

    async def _write_rounds(self) -> None:
        retry_s = self._flush_s
        while not self._stopping.is_set():
            await self._changed.wait()
            # Gather what the next `flush_s` brings into the same round (stop cuts the wait short).
            await _wait(self._stopping, retry_s)
            self._changed.clear()
            async with self._round:
                try:
                    await self._write_pending()
                except Exception as error:
                    log.error("%s; retried in %.1f s", error, retry_s)
                    retry_s = min(retry_s * 2, max(self._flush_s, _MAX_RETRY_S))
                    self._changed.set()
                else:
                    retry_s = self._flush_s

    async def _write_pending(self) -> None:
        if not self._pending:
            return
        self._in_flight, self._pending = self._pending, {}
        try:
            try:
                await self._table.write_many(self._in_flight)
            except Exception:
                await self._write_one_by_one()
            else:
                for key in self._in_flight:
                    self._refusals.pop(key, None)
        except BaseException:
            # Back to pending, under anything saved since (newer states win).
            self._pending = {**self._in_flight, **self._pending}
            raise
        finally:
            self._in_flight = {}

    async def _write_one_by_one(self) -> None:
        """Each in-flight state in a transaction of its own; raises `UnwrittenStates` (a message
        without user data, unlike the driver's errors, which carry the statement's parameters)."""
        refused: dict[tuple[str, str], Exception] = {}
        tried = len(self._in_flight)
        for key, entry in list(self._in_flight.items()):
            try:
                await self._table.write_many({key: entry})
            except Exception as error:
                refused[key] = error
            else:
                del self._in_flight[key]
                self._refusals.pop(key, None)
        if not refused:
            return
        others_landed = len(refused) < tried
        for key, error in refused.items():
            # A database that is down refuses every row: only a refusal of this row counts.
            if not (others_landed or isinstance(error, DataError | IntegrityError)):
                continue
            refusals = self._refusals.get(key, 0) + 1
            if refusals < _MAX_REFUSALS:
                self._refusals[key] = refusals
                continue
            self._refusals.pop(key, None)
            del self._in_flight[key]
            log.error(
                "dialogue state of %s dropped after %d refused writes (%s); kept in memory only",
                _masked(key),
                refusals,
                _describe(error),
            )
        if self._in_flight:
            raise UnwrittenStates(len(self._in_flight), _describe(next(iter(refused.values()))))

    async def _in_table(self, key: tuple[str, str]) -> bool:
        now = self._clock.now()
        if self._synced_at is None or now - self._synced_at >= self._sync:
            # Requests arriving while the keys are read share that one query.
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._table.live_keys())
            syncing = self._syncing
            try:
                stored = await asyncio.shield(syncing)
            finally:
                if self._syncing is syncing and syncing.done():
                    self._syncing = None
            if self._synced_at is None or now - self._synced_at >= self._sync:
                self._stored = stored
                self._synced_at = now
        return key in self._stored

    def _remember(self, key: tuple[str, str], raw: bytes, stored: bool) -> None:
        self._states[key] = (self._clock.now(), raw, stored)
        self._states.move_to_end(key)
        while len(self._states) > self._max:
            self._states.popitem(last=False)


_MAX_RETRY_S = 5.0  # a database that stays down is retried at least this often, and logged each time
_MAX_REFUSALS = 3  # rounds a state the table refuses on its own is tried before it is given up


class UnwrittenStates(Exception):
    def __init__(self, count: int, cause: str) -> None:
        super().__init__(f"dialogue states not written ({count}): {cause}")


def _masked(key: tuple[str, str]) -> str:
    """A user as logs may name them: the channel and a short hash of the key, never the key."""
    channel, user_key = key
    return f"{channel}:{hashlib.sha256(user_key.encode()).hexdigest()[:12]} ({len(user_key)} chars)"


def _describe(error: Exception) -> str:
    """The error's kind and the database's first line: no statement, no parameters."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        first_line = (str(error.orig).splitlines() or [""])[0]
        return mask_pii(f"{type(error.orig).__name__}: {first_line}"[:200])
    return type(error).__name__


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout_s)


def _in_flow(state: UserState) -> bool:
    return bool(state.flow or state.slots)
