"""Deadline reminders (D-7, D-3, D-1 and the last morning) and the one scheduler that fires them.

The `notifier_reminders` rows are the truth: whoever edits an announcement rewrites them
(`ReminderPlanner.sync`). The scheduler owner mirrors them into APScheduler 3 date jobs in
a persistent SQLAlchemy job store (zone Asia/Seoul, misfire grace, coalescing), so a
reminder that fell due while nothing ran goes out once when the owner starts again.

Exactly one owner: `SchedulerHost` runs the scheduler only while it holds the database
lease row 'scheduler' (renewed every third of `scheduler_lease_s`); every `gopa serve`
worker process and every `gopa worker` competes for it, and the others stand by.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, time, timedelta

import httpx
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.clock import KST, Clock
from core.db import Database
from core.settings import Settings
from notifier.models import Announcement, Lease, Reminder
from notifier.service import AnnouncementService, IntentRecipients, message_key_for

log = logging.getLogger(__name__)
MISFIRE_GRACE_S = 12 * 3600
RECONCILE_EVERY_S = 60
JOB_TABLE = "notifier_apscheduler_jobs"


def reminder_times(ends_at: datetime, now: datetime, settings: Settings) -> list[tuple[int, datetime]]:
    """(days before, when) at `reminder_hour` KST, skipping past ones and any after the deadline."""
    last_day = ends_at.astimezone(KST).date()
    result = []
    for days in sorted(set(settings.reminder_days_before), reverse=True):
        due = datetime.combine(last_day - timedelta(days=days), time(settings.reminder_hour), tzinfo=KST)
        if now < due < ends_at:
            result.append((days, due))
    return result


def job_id(reminder: Reminder) -> str:
    return f"reminder-{reminder.announcement_id}-{reminder.days_before}"


class ReminderPlanner:
    """Keeps the reminder rows of an announcement in step with its status and deadline."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, host: SchedulerHost | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.host = host

    async def announcement_changed(self, announcement: Announcement) -> None:
        await self.sync(announcement.id)

    async def sync(self, announcement_id: int) -> list[Reminder]:
        now = self.clock.now()
        async with self.db.session() as session:
            ann = await session.get(Announcement, announcement_id)
            rows = list(
                (await session.execute(select(Reminder).where(Reminder.announcement_id == announcement_id))).scalars()
            )
            wanted: dict[int, datetime] = {}
            if ann is not None and ann.status == "published" and ann.period_kind == "dated" and ann.ends_at:
                wanted = dict(reminder_times(ann.ends_at, now, self.settings))
            existing = {row.days_before: row for row in rows}
            for days, row in existing.items():
                if row.status != "scheduled":
                    continue
                if days not in wanted:
                    row.status = "cancelled"
                elif row.due_at != wanted[days]:
                    row.due_at = wanted[days]
            for days, due in wanted.items():
                row = existing.get(days)
                if row is None:
                    session.add(Reminder(announcement_id=announcement_id, days_before=days, due_at=due))
                elif row.status == "cancelled":
                    # A deadline moved out again (or a re-publish): the reminder is due again.
                    row.status, row.due_at = "scheduled", due
            await session.commit()
            rows = list(
                (await session.execute(select(Reminder).where(Reminder.announcement_id == announcement_id))).scalars()
            )
        if self.host is not None and self.host.running:
            self.host.mirror(rows)
        return rows


_ACTIVE_HOST: SchedulerHost | None = None


async def fire_reminder(reminder_id: int) -> None:
    """The job APScheduler stores by reference; runs in the process holding the lease."""
    if _ACTIVE_HOST is None:
        raise RuntimeError("reminder fired with no scheduler host")
    await _ACTIVE_HOST.fire(reminder_id)


async def reconcile() -> None:
    if _ACTIVE_HOST is not None:
        await _ACTIVE_HOST.reconcile()


async def scheduled_ingest() -> None:
    if _ACTIVE_HOST is not None:
        await _ACTIVE_HOST.ingest()


class SchedulerHost:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        intents: IntentRecipients | None = None,
        holder: str | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.holder = holder or f"scheduler-{uuid.uuid4().hex[:8]}"
        self.http = http  # for the feed import; a fresh client per run when None
        self.announcements = AnnouncementService(db, settings, clock, intents)
        self.scheduler: AsyncIOScheduler | None = None
        self.fired: asyncio.Queue[int] = asyncio.Queue()
        self._lease_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    # --- lease -----------------------------------------------------------------------------

    async def acquire_lease(self) -> bool:
        now = self.clock.now()
        expires = now + timedelta(seconds=self.settings.scheduler_lease_s)
        async with self.db.session() as session:
            insert_fn = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
            await session.execute(
                insert_fn(Lease)
                .values(name="scheduler", holder=self.holder, expires_at=expires)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            result = await session.execute(
                update(Lease)
                .where(Lease.name == "scheduler", (Lease.holder == self.holder) | (Lease.expires_at < now))
                .values(holder=self.holder, expires_at=expires)
            )
            await session.commit()
            return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def release_lease(self) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(Lease)
                .where(Lease.name == "scheduler", Lease.holder == self.holder)
                .values(expires_at=self.clock.now() - timedelta(seconds=1))
            )
            await session.commit()

    # --- running -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start now if the lease is free, else keep trying in the background."""
        if await self.acquire_lease():
            self._start_scheduler()
        self._lease_task = asyncio.create_task(self._keep_lease())

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.settings.scheduler_lease_s / 3)
            try:
                held = await self.acquire_lease()
            except Exception:
                log.exception("scheduler lease check failed")
                held = False
            if held and not self.running:
                self._start_scheduler()
            elif not held and self.running:
                log.warning("scheduler lease lost; standing by")
                self._stop_scheduler()

    def _start_scheduler(self) -> None:
        global _ACTIVE_HOST
        store = SQLAlchemyJobStore(url=self.settings.sync_database_url, tablename=JOB_TABLE)
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": store},
            timezone=KST,
            job_defaults={"misfire_grace_time": MISFIRE_GRACE_S, "coalesce": True, "max_instances": 1},
        )
        _ACTIVE_HOST = self
        self.scheduler.start()
        self.scheduler.add_job(
            reconcile,
            "interval",
            seconds=RECONCILE_EVERY_S,
            id="notifier-reconcile",
            replace_existing=True,
            next_run_time=datetime.now(KST),
        )
        if self.settings.ingest_url:
            self.scheduler.add_job(
                scheduled_ingest,
                "interval",
                minutes=self.settings.ingest_interval_min,
                id="notifier-ingest",
                replace_existing=True,
            )
        log.info("reminder scheduler started (%s)", self.holder)

    def _stop_scheduler(self) -> None:
        global _ACTIVE_HOST
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
        if _ACTIVE_HOST is self:
            _ACTIVE_HOST = None

    async def stop(self) -> None:
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
            self._lease_task = None
        if self.running:
            self._stop_scheduler()
            await self.release_lease()

    # --- jobs --------------------------------------------------------------------------------

    def mirror(self, rows: list[Reminder]) -> None:
        """Scheduled rows become date jobs; the rest lose theirs."""
        assert self.scheduler is not None
        for row in rows:
            if row.status == "scheduled":
                current = self.scheduler.get_job(job_id(row))
                if current is not None and current.next_run_time == row.due_at:
                    continue  # unchanged (a missed run keeps its time, so it still runs once)
                self.scheduler.add_job(
                    fire_reminder,
                    "date",
                    run_date=row.due_at.astimezone(KST),
                    args=[row.id],
                    id=job_id(row),
                    replace_existing=True,
                )
            else:
                with contextlib.suppress(JobLookupError):
                    self.scheduler.remove_job(job_id(row))

    async def reconcile(self) -> None:
        """Pick up reminder rows written or moved by other processes (the API, `gopa announce`)."""
        if self.scheduler is None:
            return
        async with self.db.session() as session:
            rows = list((await session.execute(select(Reminder).where(Reminder.status != "fired"))).scalars())
        self.mirror(rows)

    async def fire(self, reminder_id: int) -> int:
        """Queue the reminder for every matching subscriber (and intent holders) once."""
        created = 0
        async with self.db.session() as session:
            reminder = await session.get(Reminder, reminder_id)
            if reminder is None or reminder.status != "scheduled":
                return 0
            ann = await session.get(Announcement, reminder.announcement_id)
            if ann is not None and ann.status == "published":
                extra = await self.announcements.intents.subscriber_ids(ann.program_id) if ann.program_id else ()
                created = await self.announcements.fan_out(
                    session, ann, message_key_for(ann.id, reminder.days_before), extra
                )
            reminder.status = "fired"
            reminder.fired_at = self.clock.now()
            await session.commit()
        log.info("reminder %s fired: %s deliveries", reminder_id, created)
        self.fired.put_nowait(reminder_id)
        return created

    async def ingest(self) -> None:
        from notifier.ingest import FeedError, Ingestor

        ingestor = Ingestor(self.db, self.settings, self.clock)
        try:
            if self.http is not None:
                report = await ingestor.ingest_url(self.http, self.settings.ingest_url)
            else:
                async with httpx.AsyncClient(timeout=30.0) as client:
                    report = await ingestor.ingest_url(client, self.settings.ingest_url)
        except FeedError as exc:
            log.error("scheduled ingest failed: %s", exc)
            return
        log.info("scheduled ingest: %s", report.summary())
