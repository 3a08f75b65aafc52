"""The delivery worker: claim due outbox rows, send them through their channel, record the outcome.

Claiming is one `UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) RETURNING`:
on PostgreSQL several workers share the outbox without waiting on each other; SQLite has a
single writer, so the same statement is already exclusive. A row stays 'sending' while its
worker holds it; if the worker dies, the claim expires after `delivery_claim_lease_s` and
another worker takes it. Outcomes are written as soon as each send returns (a writer task
commits whatever has finished), so a crash repeats at most the messages still in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.clock import Clock
from core.db import Database
from core.settings import Settings
from notifier.channels import Channel, SendResult
from notifier.models import Announcement, Delivery, Subscriber
from notifier.render import Content, build_content
from notifier.service import earliest_send, in_quiet_hours

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 6 * 3600


class Pacer:
    """Spaces sends: at most `overall_per_s` in total and one per `1/per_key_per_s` per chat.

    Each call reserves the next free slot before it waits, so concurrent senders never
    exceed the rate. A rate of 0 turns that limit off. Time and sleeping are injected."""

    def __init__(
        self,
        overall_per_s: float,
        per_key_per_s: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.gap = 1.0 / overall_per_s if overall_per_s > 0 else 0.0
        self.key_gap = 1.0 / per_key_per_s if per_key_per_s > 0 else 0.0
        self.monotonic = monotonic
        self.sleep = sleep
        self.next_free = 0.0
        self.key_next: dict[str, float] = {}

    def pause(self, seconds: float) -> None:
        self.next_free = max(self.next_free, self.monotonic() + seconds)

    async def acquire(self, key: str) -> None:
        now = self.monotonic()
        slot = max(now, self.next_free, self.key_next.get(key, 0.0))
        if self.gap:
            self.next_free = slot + self.gap
        if self.key_gap:
            if len(self.key_next) > 10_000:
                self.key_next = {k: v for k, v in self.key_next.items() if v > now}
            self.key_next[key] = slot + self.key_gap
        if slot > now:
            await self.sleep(slot - now)


@dataclass(frozen=True)
class Claimed:
    id: int
    subscriber_id: int
    announcement_id: int | None
    message_key: str
    channel: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    id: int
    values: dict[str, object]
    deactivate: tuple[int, str] | None = None


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        channels: Mapping[str, Channel],
        pacers: Mapping[str, Pacer] | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.channels = dict(channels)
        self.pacers = dict(pacers or {})
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.rng = rng or random.Random()
        self.paused_until: dict[str, datetime] = {}
        self.sent = 0

    # --- claiming --------------------------------------------------------------------------

    async def claim(self, limit: int) -> list[Claimed]:
        now = self.clock.now()
        stale = now - timedelta(seconds=self.settings.delivery_claim_lease_s)
        paused = [name for name, until in self.paused_until.items() if until > now]
        due = (
            select(Delivery.id)
            .where(
                or_(
                    and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
                    and_(Delivery.status == "sending", Delivery.claimed_at < stale),
                ),
                Delivery.channel.in_(list(self.channels)),
                Delivery.channel.not_in(paused) if paused else True,
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
        async with self.db.writing(), self.db.session() as session:
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            result = await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(due.scalar_subquery()))
                .values(status="sending", claimed_by=self.worker_id, claimed_at=now)
                .returning(
                    Delivery.id,
                    Delivery.subscriber_id,
                    Delivery.announcement_id,
                    Delivery.message_key,
                    Delivery.channel,
                    Delivery.attempts,
                )
                .execution_options(synchronize_session=False)
            )
            rows = [Claimed(*row) for row in result.all()]
            await session.commit()
        return sorted(rows, key=lambda c: c.id)

    # --- one round ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch and settle every row in it; returns how many rows were claimed."""
        claimed = await self.claim(self.settings.delivery_batch_size)
        if not claimed:
            return 0
        async with self.db.session() as session:
            subs = {
                s.id: s
                for s in (
                    await session.execute(
                        select(Subscriber).where(Subscriber.id.in_({c.subscriber_id for c in claimed}))
                    )
                ).scalars()
            }
            anns = {
                a.id: a
                for a in (
                    await session.execute(
                        select(Announcement).where(Announcement.id.in_({c.announcement_id for c in claimed}))
                    )
                ).scalars()
            }
        outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write_outcomes(outcomes))
        try:
            now = self.clock.now()
            sendable: list[tuple[Claimed, Subscriber, Announcement]] = []
            for item in claimed:
                sub, ann = subs.get(item.subscriber_id), anns.get(item.announcement_id or -1)
                if sub is None or not sub.active:
                    outcomes.put_nowait(self._final(item, "cancelled", "구독 해지됨"))
                elif ann is None or ann.status != "published":
                    outcomes.put_nowait(self._final(item, "cancelled", "공고가 게시 상태가 아님"))
                elif not sub.night_consent and in_quiet_hours(now, self.settings):
                    outcomes.put_nowait(self._later(item, earliest_send(now, self.settings), None, count=False))
                else:
                    sendable.append((item, sub, ann))
            await self._send_all(sendable, outcomes)
        finally:
            outcomes.put_nowait(None)
            await writer
        return len(claimed)

    async def drain(self, max_rounds: int | None = None) -> int:
        """Run rounds until nothing is due now (tests and `gopa worker --drain`)."""
        total, rounds = 0, 0
        while max_rounds is None or rounds < max_rounds:
            done = await self.run_once()
            if done == 0:
                break
            total += done
            rounds += 1
        return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("delivery round failed")
                done = 0
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_poll_interval_s)

    # --- sending ---------------------------------------------------------------------------

    def _content(self, item: Claimed, sub: Subscriber, ann: Announcement) -> Content:
        unsubscribe = f"{self.settings.public_base_url.rstrip('/')}/unsubscribe/{sub.unsubscribe_token}"
        return build_content(ann, item.message_key, unsubscribe)

    async def _send_all(
        self, sendable: list[tuple[Claimed, Subscriber, Announcement]], outcomes: asyncio.Queue[Outcome | None]
    ) -> None:
        limit = asyncio.Semaphore(max(1, self.settings.delivery_concurrency))
        jobs: list[Awaitable[None]] = []
        batches: dict[tuple[str, str], list[tuple[Claimed, Subscriber, Announcement]]] = {}
        for entry in sendable:
            item = entry[0]
            channel = self.channels[item.channel]
            if channel.max_batch > 1:
                batches.setdefault((item.channel, item.message_key), []).append(entry)
            else:
                jobs.append(self._send_group([entry], limit, outcomes))
        for entries in batches.values():
            size = self.channels[entries[0][0].channel].max_batch
            for start in range(0, len(entries), size):
                jobs.append(self._send_group(entries[start : start + size], limit, outcomes))
        await asyncio.gather(*jobs)

    async def _send_group(
        self,
        entries: list[tuple[Claimed, Subscriber, Announcement]],
        limit: asyncio.Semaphore,
        outcomes: asyncio.Queue[Outcome | None],
    ) -> None:
        first, sub, ann = entries[0]
        channel = self.channels[first.channel]
        async with limit:
            pause_end = self.paused_until.get(first.channel)
            if pause_end is not None and pause_end > self.clock.now():
                for item, _, _ in entries:
                    outcomes.put_nowait(self._later(item, pause_end, "채널 일시 중지(429)", count=False))
                return
            pacer = self.pacers.get(first.channel)
            if pacer is not None:
                await pacer.acquire(sub.address)
            try:
                result = await channel.send([s.address for _, s, _ in entries], self._content(first, sub, ann))
            except Exception as exc:  # a channel bug must not stop the others
                log.exception("channel %s failed", first.channel)
                result = SendResult("transient", f"{type(exc).__name__}")
        for item, each_sub, _ in entries:
            outcomes.put_nowait(self._settle(item, each_sub, result))

    def _settle(self, item: Claimed, sub: Subscriber, result: SendResult) -> Outcome:
        now = self.clock.now()
        if result.outcome == "sent":
            self.sent += 1
            return Outcome(
                item.id,
                {
                    "status": "sent",
                    "sent_at": now,
                    "attempts": item.attempts + 1,
                    "external_id": result.external_id,
                    "last_error": None,
                },
            )
        if result.outcome == "rate_limited":
            until = now + timedelta(seconds=max(result.retry_after_s, 1.0))
            self.paused_until[item.channel] = max(until, self.paused_until.get(item.channel, until))
            pacer = self.pacers.get(item.channel)
            if pacer is not None:
                pacer.pause(result.retry_after_s)
            return self._later(item, until, result.detail, count=False)
        if result.outcome == "permanent_recipient":
            outcome = self._final(item, "dead", result.detail, attempts=item.attempts + 1)
            return Outcome(outcome.id, outcome.values, deactivate=(sub.id, result.detail))
        if result.outcome == "permanent_message":
            return self._final(item, "dead", result.detail, attempts=item.attempts + 1)
        attempts = item.attempts + 1
        if attempts >= self.settings.delivery_max_attempts:
            return self._final(item, "dead", result.detail, attempts=attempts)
        return self._later(item, now + timedelta(seconds=self.backoff(attempts)), result.detail, count=True)

    def backoff(self, attempts: int) -> float:
        """Exponential in the attempt number, with ±50% jitter so retries do not stampede."""
        base = self.settings.delivery_backoff_base_s * (2 ** (attempts - 1))
        return min(MAX_BACKOFF_S, base * self.rng.uniform(0.5, 1.5))

    @staticmethod
    def _final(item: Claimed, status: str, error: str, attempts: int | None = None) -> Outcome:
        values: dict[str, object] = {"status": status, "last_error": error[:500]}
        if attempts is not None:
            values["attempts"] = attempts
        return Outcome(item.id, values)

    @staticmethod
    def _later(item: Claimed, when: datetime, error: str | None, *, count: bool) -> Outcome:
        values: dict[str, object] = {
            "status": "pending",
            "next_attempt_at": when,
            "claimed_by": None,
            "claimed_at": None,
        }
        if error is not None:
            values["last_error"] = error[:500]
        if count:
            values["attempts"] = item.attempts + 1
        return Outcome(item.id, values)

    async def _write_outcomes(self, queue: asyncio.Queue[Outcome | None]) -> None:
        """Commit finished outcomes as they arrive: whatever queued up during the previous
        commit goes into the next one. One connection serves the whole round, so a group costs
        its UPDATEs and a COMMIT, not a pool checkout and reset each time."""
        finished = False
        async with self.db.engine.connect() as conn:
            while not finished:
                first = await queue.get()
                group: list[Outcome] = []
                if first is None:
                    finished = True
                else:
                    group.append(first)
                while not queue.empty():
                    extra = queue.get_nowait()
                    if extra is None:
                        finished = True
                    else:
                        group.append(extra)
                if group:
                    await self._write(conn, group)

    async def _write(self, conn: AsyncConnection, group: list[Outcome]) -> None:
        """One executemany per shape of outcome; a row retaken by another worker is left alone."""
        now = self.clock.now()
        table = Delivery.__table__
        shapes: dict[tuple[str, ...], list[dict[str, object]]] = {}
        for outcome in group:
            shapes.setdefault(tuple(sorted(outcome.values)), []).append(
                {"b_id": outcome.id, **{f"v_{k}": v for k, v in outcome.values.items()}}
            )
        async with self.db.writing(), conn.begin():
            for columns, params in shapes.items():
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("b_id"), table.c.claimed_by == self.worker_id)
                    .values({column: bindparam(f"v_{column}", type_=table.c[column].type) for column in columns})
                )
                await conn.execute(statement, params)
            for outcome in group:
                if outcome.deactivate is not None:
                    sub_id, reason = outcome.deactivate
                    await conn.execute(
                        update(Subscriber.__table__)
                        .where(Subscriber.id == sub_id, Subscriber.active.is_(True))
                        .values(active=False, deactivated_at=now, deactivation_reason=reason[:300], updated_at=now)
                    )
