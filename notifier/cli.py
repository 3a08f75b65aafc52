"""`gopa` top-level commands of the notifier: announce, ingest, worker, subscribers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from core.clock import KST, SystemClock
from core.db import Database
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    # Imported lazily in the commands: `gopa --help` should not load the notifier stack.
    from notifier.service import AnnouncementService

app = typer.Typer(no_args_is_help=True)
announce_app = typer.Typer(no_args_is_help=True, help="announcements: create, publish, cancel, close, list")
ingest_app = typer.Typer(no_args_is_help=True, help="import announcement feeds")
subscribers_app = typer.Typer(no_args_is_help=True, help="subscribers: list and counts")
app.add_typer(announce_app, name="announce")
app.add_typer(ingest_app, name="ingest")
app.add_typer(subscribers_app, name="subscribers")

T = TypeVar("T")


def _run(job: Callable[[Settings, Database], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = get_settings()
        db = Database(settings)
        await db.create_all()
        try:
            return await job(settings, db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def parse_moment(value: str, *, day_end: bool = True) -> datetime:
    """ISO 8601 in Korean time unless it says otherwise; a bare date means the end of that day
    (a deadline) or, with `day_end=False`, its start (an opening)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {value!r}") from exc
    if len(value) <= 10:
        return datetime.combine(moment.date(), time(23, 59, 59) if day_end else time(0, 0), tzinfo=KST)
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)


@announce_app.command("create")
def announce_create(
    title: str = typer.Option(..., help="공고 제목"),
    topic: Annotated[list[str] | None, typer.Option("--topic", "-t", help="관심 분야 (repeat)")] = None,
    body: str = typer.Option("", help="본문"),
    url: str | None = typer.Option(None, help="공고 URL"),
    deadline: str | None = typer.Option(None, help="마감 (ISO 8601; a date means 23:59:59 KST)"),
    starts: str | None = typer.Option(None, help="접수 시작 (ISO 8601; a date means 00:00 KST)"),
    kind: str = typer.Option("", help="open-ended kind when there is no deadline: 상시, 예산 소진시, 추후 공지, ..."),
    program: str | None = typer.Option(None, help="knowledge base program id"),
    publish: bool = typer.Option(False, help="publish right away"),
) -> None:
    """Create an announcement (a draft unless --publish)."""
    from notifier.service import AnnouncementError, AnnouncementInput

    data = AnnouncementInput(
        title=title,
        body=body,
        url=url,
        topics=tuple(topic or ()),
        program_id=program,
        period_kind="dated" if deadline else (kind or "unspecified"),
        starts_at=parse_moment(starts, day_end=False) if starts else None,
        ends_at=parse_moment(deadline) if deadline else None,
    )

    async def job(settings: Settings, db: Database) -> None:
        from notifier.reminders import ReminderPlanner

        service = _announcements(settings, db)
        ann = await service.create(data)
        typer.echo(f"created announcement {ann.id}" + ("" if publish else " (draft)"))
        if publish:
            created = await service.publish(ann.id)
            await ReminderPlanner(db, settings, service.clock).sync(ann.id)
            typer.echo(f"published: {created} deliveries queued")

    try:
        _run(job)
    except AnnouncementError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _announcements(settings: Settings, db: Database) -> AnnouncementService:
    from knowledge_base import load_knowledge_base
    from notifier.service import AnnouncementService

    programs = load_knowledge_base(settings.kb_dir).applicable_programs()
    return AnnouncementService(db, settings, SystemClock(), program_ids={p.id for p in programs})


def _lifecycle(action: str, announcement_id: int) -> None:
    async def job(settings: Settings, db: Database) -> None:
        from notifier.reminders import ReminderPlanner

        service = _announcements(settings, db)
        if action == "publish":
            created = await service.publish(announcement_id)
            typer.echo(f"published {announcement_id}: {created} new deliveries queued")
        else:
            await getattr(service, action)(announcement_id)
            typer.echo(f"{action}: {announcement_id}")
        # The scheduler process picks the rows up; here they are written for it.
        await ReminderPlanner(db, settings, service.clock).sync(announcement_id)

    try:
        _run(job)
    except (LookupError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


@announce_app.command("publish")
def announce_publish(announcement_id: int) -> None:
    """Publish: one delivery per matching subscriber (publishing again adds none)."""
    _lifecycle("publish", announcement_id)


@announce_app.command("cancel")
def announce_cancel(announcement_id: int) -> None:
    """Cancel: unsent deliveries and reminders are withdrawn."""
    _lifecycle("cancel", announcement_id)


@announce_app.command("close")
def announce_close(announcement_id: int) -> None:
    """Close: unsent deliveries and reminders are withdrawn."""
    _lifecycle("close", announcement_id)


@announce_app.command("list")
def announce_list(status: str | None = typer.Option(None), limit: int = typer.Option(50)) -> None:
    async def job(settings: Settings, db: Database) -> None:
        for ann in await _announcements(settings, db).list(status=status, limit=limit):
            typer.echo(json.dumps(ann.to_dict(), ensure_ascii=False))

    _run(job)


@ingest_app.command("bizinfo")
def ingest_bizinfo(
    source: str = typer.Argument(..., help="a JSON file or an http(s) URL"),
    all_regions: bool = typer.Option(False, help="keep every region, not only settings.ingest_regions"),
) -> None:
    """Import 기업마당 (jsonArray or data-portal form) / K-Startup JSON; reports skipped items."""
    from notifier.ingest import FeedError, Ingestor

    async def job(settings: Settings, db: Database) -> None:
        ingestor = Ingestor(db, settings, SystemClock())
        if source.startswith(("http://", "https://")):
            import httpx

            async with httpx.AsyncClient(timeout=30.0) as client:
                report = await ingestor.ingest_url(client, source, all_regions=all_regions)
        else:
            report = await ingestor.ingest_payload(_read_json(Path(source)), all_regions=all_regions)
        typer.echo(report.summary())
        for problem in report.errors:
            typer.echo(f"  skipped: {problem}", err=True)

    try:
        _run(job)
    except FeedError as exc:
        typer.echo(f"feed error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _read_json(path: Path) -> object:
    from notifier.ingest import FeedError

    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise FeedError(f"{path}: {exc}") from exc


@app.command()
def worker(
    drain: bool = typer.Option(False, help="deliver what is due now, then exit"),
    worker_id: str | None = typer.Option(None, help="name in claimed_by (default: random)"),
    scheduler: bool = typer.Option(True, help="also run the reminder/ingest scheduler (holding the lease)"),
) -> None:
    """Run the delivery worker (and the single reminder scheduler) outside the web process."""
    from notifier.runtime import DeliveryRuntime

    async def job(settings: Settings, db: Database) -> None:
        clock = SystemClock()
        runtime = DeliveryRuntime(db, settings, clock, worker_id=worker_id)
        if drain:
            await runtime.open()
            try:
                sent = await runtime.worker.drain()
                while await _unsettled(db):
                    await asyncio.sleep(settings.worker_poll_interval_s)
                    sent += await runtime.worker.drain()
            finally:
                await runtime.stop()
            typer.echo(f"settled {sent} deliveries")
            return
        from notifier.reminders import SchedulerHost

        host = SchedulerHost(db, settings, clock) if scheduler else None
        await runtime.start()
        if host is not None:
            await host.start()
        try:
            await asyncio.Event().wait()
        finally:
            if host is not None:
                await host.stop()
            await runtime.stop()

    _run(job)


async def _unsettled(db: Database) -> bool:
    """Rows claimed by a worker that may have died: wait for their lease, then retake them."""
    from sqlalchemy import func, select

    from notifier.models import Delivery

    async with db.session() as session:
        count = await session.scalar(select(func.count()).where(Delivery.status == "sending"))
    return bool(count)


@subscribers_app.command("count")
def subscribers_count() -> None:
    """Subscribers in total, per channel (active / inactive) and per topic (active only)."""
    from notifier.audience import subscriber_counts, topic_counts
    from notifier.subscriptions import ALL_TOPICS_KEY

    async def job(settings: Settings, db: Database) -> None:
        counts = await subscriber_counts(db)
        topics = await topic_counts(db)
        active = sum(c["active"] for c in counts.values())
        inactive = sum(c["inactive"] for c in counts.values())
        typer.echo(f"구독자 {active + inactive}명 (구독 중 {active}명, 해지 {inactive}명)")
        for channel, c in counts.items():
            typer.echo(f"{channel}\t구독 중 {c['active']}명\t해지 {c['inactive']}명")
        if topics:
            typer.echo("관심 분야별 (구독 중)")
        for key, n in topics.items():
            typer.echo(f"{'전체 분야' if key == ALL_TOPICS_KEY else key}\t{n}명")

    _run(job)
