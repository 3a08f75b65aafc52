from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.clock import KST, FixedClock
from core.db import Database
from core.settings import Settings
from notifier.ingest import FeedError, Ingestor, ItemError, html_to_text, iter_items, parse_item, parse_period
from notifier.models import PERIOD_KINDS, Announcement
from tests.conftest import SHARED_DIR

REAL = SHARED_DIR / "data" / "real"
FILES = sorted(REAL.glob("*.json"))
OPEN_ENDED = set(PERIOD_KINDS) - {"dated"}


def _load(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_four_fixture_files_are_there() -> None:
    assert len(FILES) == 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_item_of_every_file_maps_to_a_deadline_or_an_open_ended_kind(path: Path) -> None:
    count = 0
    for _, raw, shape in iter_items(_load(path)):
        item = parse_item(raw, shape)
        count += 1
        if item.period.kind == "dated":
            assert item.period.ends_at is not None and item.period.ends_at.tzinfo is not None
            assert item.period.starts_at is None or item.period.starts_at <= item.period.ends_at
        else:
            assert item.period.kind in OPEN_ENDED and item.period.ends_at is None
        assert item.title and item.title == item.title.strip() and "  " not in item.title
        assert "&apos;" not in item.title and "\t" not in item.title and "ㆍ" not in item.title
    assert (
        count
        == {
            "bizinfo_api_sample_2026-09-23_redacted.json": 4,
            "bizinfo_kstartup_scraped_2026-03-02_fanyfall.json": 190,
            "bizinfo_list_seoul_gyeonggi_2026-08-24_dongwon-yeo.json": 10,
            "kstartup_api_subset_2025-09-20_leesiyeon.json": 146,
        }[path.name]
    )


@pytest.mark.parametrize(
    ("text", "kind", "end"),
    [
        ("2026-09-23 ~ 2026-10-08", "dated", datetime(2026, 10, 8, 23, 59, 59, tzinfo=KST)),
        ("20220727 ~ 20220930", "dated", datetime(2022, 9, 30, 23, 59, 59, tzinfo=KST)),
        ("2026.02.09 ~ 2026.03.09", "dated", datetime(2026, 3, 9, 23, 59, 59, tzinfo=KST)),
        ("2026.02.12(목) 00:00 ~ 2026.03.10(화) 23:50 까지", "dated", datetime(2026, 3, 10, 23, 50, tzinfo=KST)),
        ("~ 2026-03-09", "dated", datetime(2026, 3, 9, 23, 59, 59, tzinfo=KST)),
        ("2026-03-01 ~", "unspecified", None),
        ("예산 소진시까지", "예산 소진시", None),
        ("상시 접수", "상시", None),
        ("세부사업별 상이", "세부사업별 상이", None),
        ("추후 공지", "추후 공지", None),
        (None, "unspecified", None),
        ("", "unspecified", None),
    ],
)
def test_period_forms(text: str | None, kind: str, end: datetime | None) -> None:
    period = parse_period(text)
    assert (period.kind, period.ends_at) == (kind, end)


def test_bad_periods_are_item_errors() -> None:
    for text in ("2026-13-45 ~ 2026-14-01", "언젠가", "2026-03-09 ~ 2026-03-01"):
        with pytest.raises(ItemError):
            parse_period(text)


def test_html_body_becomes_text() -> None:
    body = "<p>광명시에서는&nbsp;지원&#40;안내&#41;</p><p><br></p><p style='x'>☞ 블로그ㆍ키워드 &amp; 광고</p>"
    assert html_to_text(body) == "광명시에서는 지원(안내)\n☞ 블로그·키워드 & 광고"


def test_entities_tabs_and_double_spaces_in_kstartup_titles() -> None:
    items = [parse_item(raw, shape) for _, raw, shape in iter_items(_load(REAL / FILES[3].name))]
    by_id = {it.source_id: it for it in items}
    assert by_id["174813"].title.endswith("'야, 너두 창업할 수 있어! 창업 성공 스토리'")
    assert by_id["175022"].title.startswith("단국대(죽전)")
    assert by_id["175054"].period.ends_at == datetime(2025, 9, 26, 23, 59, 59, tzinfo=KST)


def test_feed_errors() -> None:
    with pytest.raises(FeedError):
        list(iter_items({"reqErr": "인증키 오류"}))
    with pytest.raises(FeedError):
        list(iter_items({"response": {"header": {"resultCode": "30", "resultMsg": "SERVICE KEY IS NOT REGISTERED"}}}))
    with pytest.raises(FeedError):
        list(iter_items("nonsense"))


@pytest.fixture
def ingestor(db: Database, settings: Settings) -> Ingestor:
    return Ingestor(db, settings, FixedClock(datetime(2026, 9, 23, 6, 0, tzinfo=UTC)))


async def _rows(db: Database) -> list[Announcement]:
    async with db.session() as session:
        return list((await session.execute(select(Announcement).order_by(Announcement.id))).scalars())


@pytest.mark.db
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_each_file_imports_without_a_crash_and_twice_changes_nothing(
    path: Path, ingestor: Ingestor, db: Database
) -> None:
    first = await ingestor.ingest_payload(_load(path))
    assert first.errors == [] and first.created > 0
    assert first.created + first.filtered + first.superseded + first.updated <= first.seen
    second = await ingestor.ingest_payload(_load(path))
    assert second.created == 0 and second.updated == 0
    assert all(row.status == "draft" for row in await _rows(db))


@pytest.mark.db
async def test_region_filter_keeps_gyeonggi_and_nationwide(ingestor: Ingestor, db: Database) -> None:
    report = await ingestor.ingest_payload(_load(REAL / "bizinfo_list_seoul_gyeonggi_2026-08-24_dongwon-yeo.json"))
    titles = [row.title for row in await _rows(db)]
    assert report.filtered == 1 and not any(t.startswith("[서울]") for t in titles)
    assert any(t.startswith("[경기] 화성시") for t in titles)
    assert "2026년 탄소중립펀드 투자유치 피칭데이 참가기업 모집 공고" in titles  # no region: nationwide
    assert all("·" in t or "ㆍ" not in t for t in titles)


@pytest.mark.db
async def test_revisions_supersede_and_bad_items_are_skipped(ingestor: Ingestor, db: Database) -> None:
    original = {
        "pblancId": "PBLN_1",
        "pblancNm": "[경기] 김포시 스마트물류 설비 지원사업 모집 공고",
        "reqstBeginEndDe": "2026-09-01 ~ 2026-09-30",
        "hashtags": "경기,스마트물류",
    }
    report = await ingestor.ingest_payload(
        {
            "jsonArray": [
                original,
                {"pblancNm": "no id"},
                {**original, "pblancId": "PBLN_9", "reqstBeginEndDe": "2026-13-01 ~ 2026-13-02"},
            ]
        }
    )
    assert report.created == 1 and len(report.errors) == 2
    revision = {
        **original,
        "pblancId": "PBLN_2",
        "pblancNm": "[경기] 김포시 스마트물류 설비 지원사업 모집 연장 공고",
        "reqstBeginEndDe": "2026-09-01 ~ 2026-10-15",
    }
    report = await ingestor.ingest_payload({"jsonArray": [revision]})
    assert report.superseded == 1 and report.created == 0
    report = await ingestor.ingest_payload({"jsonArray": [original]})  # the old notice listed again
    assert report.superseded == 1 and report.created == 0
    (row,) = await _rows(db)
    assert row.source_id == "PBLN_2" and row.version == 1 and "연장" in row.title
    assert row.ends_at == datetime(2026, 10, 15, 23, 59, 59, tzinfo=KST)
    assert "스마트물류" in row.topics and row.regions == ["경기"]


@pytest.mark.db
async def test_url_import_through_an_injected_client(ingestor: Ingestor) -> None:
    answers = {
        "/ok": httpx.Response(
            200, json={"jsonArray": [{"pblancId": "P", "pblancNm": "공고", "reqstBeginEndDe": "상시 접수"}]}
        ),
        "/err": httpx.Response(200, json={"reqErr": "인증키가 유효하지 않습니다"}),
        "/down": httpx.Response(503, text="busy"),
        "/html": httpx.Response(200, text="<html>"),
    }
    transport = httpx.MockTransport(lambda request: answers[request.url.path])
    async with httpx.AsyncClient(transport=transport, base_url="https://api.example") as client:
        report = await ingestor.ingest_url(client, "https://api.example/ok")
        assert report.created == 1 and report.kinds == {"상시": 1}
        for path in ("/err", "/down", "/html"):
            with pytest.raises(FeedError):
                await ingestor.ingest_url(client, f"https://api.example{path}")


@pytest.mark.db
async def test_the_scheduled_import_reads_the_configured_url(db: Database, settings: Settings) -> None:
    from notifier.reminders import SchedulerHost

    feed = _load(REAL / "bizinfo_api_sample_2026-09-23_redacted.json")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=feed))
    configured = settings.model_copy(update={"ingest_url": "https://apis.example/bizinfo"})
    async with httpx.AsyncClient(transport=transport) as client:
        host = SchedulerHost(db, configured, FixedClock(datetime(2026, 9, 23, 6, 0, tzinfo=UTC)), http=client)
        await host.ingest()
    assert len(await _rows(db)) == 3  # 4 items, the 경북 one outside the regions
