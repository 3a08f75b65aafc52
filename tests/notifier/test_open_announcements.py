"""What the dialogue is told about a program's 공고: published, still open, nearest deadline first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ports import OpenAnnouncement
from core.clock import FixedClock
from core.db import Database
from core.settings import Settings
from notifier.bot_port import NotifierAnnouncementPort
from notifier.service import AnnouncementError, AnnouncementInput, AnnouncementService

pytestmark = pytest.mark.db

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 2026-03-02 10:00 KST


async def add(
    service: AnnouncementService,
    title: str,
    *,
    program: str | None = "smart_factory",
    ends_in: timedelta | None = None,
    publish: bool = True,
    url: str | None = None,
) -> int:
    data = AnnouncementInput(
        title=title,
        program_id=program,
        url=url,
        period_kind="dated" if ends_in is not None else "상시",
        ends_at=NOW + ends_in if ends_in is not None else None,
    )
    ann = await service.create(data)
    if publish:
        await service.publish(ann.id)
    return ann.id


async def test_only_published_open_announcements_of_the_program_nearest_deadline_first(
    db: Database, settings: Settings
) -> None:
    clock = FixedClock(NOW)
    service = AnnouncementService(db, settings, clock)
    await add(service, "상시 모집 공고", ends_in=None)
    await add(service, "2주 뒤 마감", ends_in=timedelta(days=14), url="https://www.gimpo.go.kr/a")
    await add(service, "내일 마감", ends_in=timedelta(days=1))
    await add(service, "어제 마감", ends_in=timedelta(days=-1))
    await add(service, "초안", ends_in=timedelta(days=5), publish=False)
    await add(service, "다른 사업", ends_in=timedelta(days=5), program="test_analysis")
    await add(service, "사업 없음", ends_in=timedelta(days=5), program=None)
    closed = await add(service, "마감 처리됨", ends_in=timedelta(days=5))
    await service.close(closed)
    cancelled = await add(service, "취소됨", ends_in=timedelta(days=5))
    await service.cancel(cancelled)

    port = NotifierAnnouncementPort(service, clock)
    assert await port.open_for("smart_factory") == [
        OpenAnnouncement("내일 마감", "~ 2026년 3월 3일(화) 10:00"),
        OpenAnnouncement("2주 뒤 마감", "~ 2026년 3월 16일(월) 10:00", "https://www.gimpo.go.kr/a"),
        OpenAnnouncement("상시 모집 공고", "상시 접수"),
    ]
    assert [a.title for a in await port.open_for("test_analysis")] == ["다른 사업"]
    assert await port.open_for("certification") == []

    # The deadline passing closes it for the dialogue, with nobody touching it.
    clock.advance(days=2)
    assert [a.title for a in await port.open_for("smart_factory")] == ["2주 뒤 마감", "상시 모집 공고"]


async def test_a_change_here_shows_at_once_one_from_another_process_within_the_ttl(
    db: Database, settings: Settings
) -> None:
    clock = FixedClock(NOW)
    here = AnnouncementService(db, settings, clock)
    elsewhere = AnnouncementService(db, settings, clock)  # another worker process on the same database
    port = NotifierAnnouncementPort(here, clock, ttl_s=30)
    assert await port.open_for("smart_factory") == []

    await add(here, "이 프로세스에서 발행", ends_in=timedelta(hours=1))
    assert [a.title for a in await port.open_for("smart_factory")] == ["이 프로세스에서 발행"]

    other = await add(elsewhere, "다른 프로세스에서 발행", ends_in=timedelta(days=3))
    assert [a.title for a in await port.open_for("smart_factory")] == ["이 프로세스에서 발행"]
    clock.advance(seconds=29)
    assert len(await port.open_for("smart_factory")) == 1
    clock.advance(seconds=1)
    assert [a.title for a in await port.open_for("smart_factory")] == ["이 프로세스에서 발행", "다른 프로세스에서 발행"]

    # A deadline passing between two loads counts at once; a cancellation here, too.
    clock.advance(hours=1)
    assert [a.title for a in await port.open_for("smart_factory")] == ["다른 프로세스에서 발행"]
    await here.cancel(other)
    assert await port.open_for("smart_factory") == []


async def test_a_notice_not_yet_taking_applications_is_said_so(db: Database, settings: Settings) -> None:
    clock = FixedClock(NOW)
    service = AnnouncementService(db, settings, clock)
    later = await service.create(
        AnnouncementInput(
            title="4월 접수 공고",
            program_id="smart_factory",
            period_kind="dated",
            starts_at=NOW + timedelta(days=30),
            ends_at=NOW + timedelta(days=45),
        )
    )
    await service.publish(later.id)
    told = await service.create(
        AnnouncementInput(title="일정 추후 공지", program_id="smart_factory", period_kind="추후 공지")
    )
    await service.publish(told.id)
    port = NotifierAnnouncementPort(service, clock)
    assert [(a.title, a.state) for a in await port.open_for("smart_factory")] == [
        ("4월 접수 공고", "upcoming"),
        ("일정 추후 공지", "see_notice"),
    ]
    clock.advance(days=30)  # the snapshot is kept; the start date is checked on every answer
    assert [a.state for a in await port.open_for("smart_factory")] == ["open", "see_notice"]


async def test_only_programs_of_the_knowledge_base_are_linked(db: Database, settings: Settings) -> None:
    service = AnnouncementService(db, settings, FixedClock(NOW), program_ids={"smart_factory"})
    with pytest.raises(AnnouncementError, match="없는 지원사업이에요: smart_factry"):
        await service.create(AnnouncementInput(title="오타", program_id="smart_factry"))
    assert (await service.create(AnnouncementInput(title="맞음", program_id="smart_factory"))).program_id
