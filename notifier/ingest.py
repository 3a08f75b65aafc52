"""Import support-program feeds: 기업마당 API (`jsonArray`, and the data portal's
`response.body.items.item`), K-Startup's list (`pbanc_sn`, `biz_pbanc_nm`, ...), and the
scraped list forms (`sources.*.items`, `items[{title, link, period}]`).

Every item is cleaned (HTML to text, entities decoded, dots and spaces normalised), its
period turned into a deadline or an explicit open-ended kind, filtered by region, and
merged: the same source id updates the stored row, and a 수정/재공고/연장 notice
supersedes the earlier version of the same notice. A bad item is reported and skipped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from core.clock import KST, Clock
from core.db import Database
from core.settings import Settings
from core.text import clean_display, compact
from knowledge_base.schema import CATEGORIES, INDUSTRIES
from notifier.models import Announcement
from notifier.reminders import ReminderPlanner

REGIONS = (
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기",
    "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
)  # fmt: skip
# Province names as agencies write them (jrsdInsttNm, hashtags) -> the short form.
_REGION_ALIASES = {
    "경기도": "경기", "김포": "경기", "서울특별시": "서울", "부산광역시": "부산", "대구광역시": "대구",
    "인천광역시": "인천", "광주광역시": "광주", "대전광역시": "대전", "울산광역시": "울산",
    "세종특별자치시": "세종", "강원특별자치도": "강원", "강원도": "강원", "충청북도": "충북",
    "충청남도": "충남", "전북특별자치도": "전북", "전라북도": "전북", "전라남도": "전남",
    "경상북도": "경북", "경상남도": "경남", "제주특별자치도": "제주", "전남광주": "전남",
}  # fmt: skip
VOCABULARY = (*INDUSTRIES, *CATEGORIES)


class FeedError(Exception):
    """The whole feed is unusable (HTTP error, `reqErr`, an error result code, not JSON)."""


class ItemError(ValueError):
    """One item is unusable; it is reported and skipped."""


# --- text -------------------------------------------------------------------------------------

_BLOCK_TAGS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def html_to_text(value: str | None) -> str:
    """Tags out, block ends as line breaks, entities decoded (twice: feeds double-escape)."""
    if not value:
        return ""
    text = _BLOCK_TAGS.sub("\n", value)
    text = _TAGS.sub("", text)
    text = html.unescape(html.unescape(text))
    lines = (clean_display(line) for line in text.replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def clean_title(value: str | None) -> str:
    return clean_display(_TAGS.sub("", html.unescape(html.unescape(value or ""))))


# --- periods ------------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<y>\d{4})\s*[-./년]?\s*(?P<m>\d{1,2})\s*[-./월]?\s*(?P<d>\d{1,2})\s*일?"
    r"(?:\s*\([^)]*\))?(?:\s*(?P<H>\d{1,2}):(?P<M>\d{2}))?"
)
_OPEN_ENDED = (
    (re.compile(r"예산\s*(소진|소요)"), "예산 소진시"),
    (re.compile(r"상시"), "상시"),
    (re.compile(r"추후\s*(공지|공고|안내)"), "추후 공지"),
    (re.compile(r"세부\s*사업\s*별?\s*상이|사업별\s*상이"), "세부사업별 상이"),
)


@dataclass(frozen=True)
class Period:
    kind: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _moment(match: re.Match[str], end: bool) -> datetime:
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        if match["H"] is not None:
            clock = time(int(match["H"]) % 24, int(match["M"]))
        else:
            clock = time(23, 59, 59) if end else time(0, 0)
    except ValueError as exc:
        raise ItemError(f"없는 날짜: {match.group(0)!r}") from exc
    return datetime.combine(day, clock, tzinfo=KST)


def parse_period(text: str | None, start: str | None = None, end: str | None = None) -> Period:
    """A period as the portals print it, or separate start/end fields (K-Startup's YYYYMMDD)."""
    if start is not None or end is not None:
        text = f"{start or ''} ~ {end or ''}"
    raw = clean_display(text or "")
    if not raw or raw in ("~", "-"):
        return Period("unspecified")
    for pattern, kind in _OPEN_ENDED:
        if pattern.search(raw):
            return Period(kind)
    if "~" in raw:
        left, right = raw.split("~", 1)
    else:
        left, right = "", raw
    begin = _DATE.search(left)
    finish = _DATE.search(right)
    if finish is None and begin is None:
        raise ItemError(f"알 수 없는 기간 형식: {raw!r}")
    starts = _moment(begin, end=False) if begin else None
    if finish is None:
        # Start-only ranges: open from that day, no deadline printed.
        return Period("unspecified", starts_at=starts)
    ends = _moment(finish, end=True)
    if starts is not None and starts > ends:
        raise ItemError(f"시작이 마감보다 늦음: {raw!r}")
    return Period("dated", starts, ends)


# --- versions, regions, topics ----------------------------------------------------------------

_REVISION = re.compile(
    r"[(\[]\s*(수정|재|연장|변경|정정)\s*(공고)?\s*[)\]]|(수정|재|연장|변경|정정)\s*공고|재공고|\((연장|수정|변경)\)"
)


def base_key(title: str) -> tuple[str, bool]:
    """The title with revision markers removed (versions share it), and whether it is a revision."""
    revised = bool(_REVISION.search(title))
    stripped = _REVISION.sub(" 공고 ", title) if revised else title
    return compact(stripped.replace("공고", "")), revised


_BRACKET = re.compile(r"^\s*[\[【(]\s*([^\]】)]{1,20})\s*[\]】)]")


def regions_of(title: str, tags: Iterable[str] = ()) -> list[str]:
    found: list[str] = []

    def add(name: str) -> None:
        name = _REGION_ALIASES.get(name, name)
        if name in REGIONS and name not in found:
            found.append(name)

    prefix = _BRACKET.match(title)
    if prefix:
        for part in re.split(r"[\s,·/]+", prefix.group(1)):
            add(part)
    for tag in tags:
        add(clean_display(tag))
    if "김포" in title:
        add("김포")
    return found


def topics_of(title: str, tags: Iterable[str], category: str | None) -> list[str]:
    haystack = compact(" ".join([title, *tags]))
    topics = [t for t in VOCABULARY if compact(t) in haystack]
    if category:
        cleaned = clean_display(category)
        if cleaned and cleaned not in topics:
            topics.append(cleaned)
    return topics


def clean_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if not value.startswith(("https://", "http://")) or "javascript:" in value or len(value) > 1000:
        return None
    return value


# --- item shapes ----------------------------------------------------------------------------------


@dataclass
class FeedItem:
    source: str
    source_id: str
    title: str
    period: Period
    period_text: str | None
    url: str | None = None
    body: str = ""
    organization: str | None = None
    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ItemError(f"{key}: 글자가 아님")
    return str(value)


def _require_title(raw: str | None) -> str:
    title = clean_title(raw)
    if not title:
        raise ItemError("제목 없음")
    return title


def _bizinfo_api(item: dict[str, Any]) -> FeedItem:
    source_id = _text(item, "pblancId")
    if not source_id:
        raise ItemError("pblancId 없음")
    title = _require_title(_text(item, "pblancNm"))
    tags = [t for t in (_text(item, "hashtags") or "").split(",") if t.strip()]
    period_text = _text(item, "reqstBeginEndDe")
    organization = clean_display(" ".join(filter(None, [_text(item, "jrsdInsttNm"), _text(item, "excInsttNm")])))
    region_tags = [*tags, _text(item, "jrsdInsttNm") or ""]
    return FeedItem(
        source="bizinfo",
        source_id=source_id,
        title=title,
        period=parse_period(period_text),
        period_text=period_text,
        url=clean_url(_text(item, "pblancUrl")),
        body=html_to_text(_text(item, "bsnsSumryCn")),
        organization=organization or None,
        regions=regions_of(title, region_tags),
        topics=topics_of(title, tags, _text(item, "pldirSportRealmLclasCodeNm")),
    )


def _kstartup_api(item: dict[str, Any]) -> FeedItem:
    source_id = _text(item, "pbanc_sn")
    if not source_id:
        raise ItemError("pbanc_sn 없음")
    title = _require_title(_text(item, "biz_pbanc_nm"))
    start, end = _text(item, "pbanc_rcpt_bgng_dt"), _text(item, "pbanc_rcpt_end_dt")
    category = _text(item, "supt_biz_clsfc")
    return FeedItem(
        source="kstartup",
        source_id=source_id,
        title=title,
        period=parse_period(None, start or None, end or None),
        period_text=f"{start or ''} ~ {end or ''}",
        url=clean_url(_text(item, "detl_pg_url"))
        or f"https://www.k-startup.go.kr/web/contents/bizpbanc-ongoing.do?schM=view&pbancSn={source_id}",
        body=html_to_text(_text(item, "pbanc_ctnt")),
        organization=clean_display(_text(item, "pbanc_ntrp_nm") or "") or None,
        regions=regions_of(title, [_text(item, "supt_regin") or ""]),
        topics=topics_of(title, [], category),
    )


def _pblanc_id(url: str | None) -> str | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("pblancId")
    return values[0] if values else None


def _scraped(item: dict[str, Any], source_hint: str | None) -> FeedItem:
    title = _require_title(_text(item, "title"))
    url = _text(item, "url") or _text(item, "link")
    source = _text(item, "source") or source_hint or "bizinfo"
    source_id = _pblanc_id(url)
    raw_id = _text(item, "id")
    if source_id is None and raw_id:
        source_id = raw_id.removeprefix(f"{source}_")
    if not source_id:
        raise ItemError("원문 식별자(id, pblancId) 없음")
    detail = item.get("detail")
    period_text = _text(detail, "period") if isinstance(detail, dict) else _text(item, "period")
    return FeedItem(
        source=source,
        source_id=source_id,
        title=title,
        period=parse_period(period_text),
        period_text=period_text,
        url=clean_url(url),
        regions=regions_of(title),
        topics=topics_of(title, [], _text(item, "category")),
    )


def iter_items(payload: Any) -> Iterator[tuple[int, dict[str, Any] | Any, str]]:
    """(position, raw item, shape) for every item of any supported shape; raises FeedError."""
    if isinstance(payload, dict) and "reqErr" in payload:
        raise FeedError(f"기업마당 API 오류: {payload.get('reqErr')}")
    if isinstance(payload, dict) and "jsonArray" in payload:
        items = payload["jsonArray"]
        shape = "bizinfo"
    elif isinstance(payload, dict) and isinstance(payload.get("response"), dict):
        response = payload["response"]
        header = response.get("header") or {}
        if str(header.get("resultCode", "00")) not in ("00", "0"):
            raise FeedError(f"공공데이터포털 오류 {header.get('resultCode')}: {header.get('resultMsg')}")
        body = response.get("body") or {}
        container = body.get("items") or {}
        items = container.get("item", []) if isinstance(container, dict) else container
        if isinstance(items, dict):  # one item comes as an object, not a list
            items = [items]
        shape = "bizinfo"
    elif isinstance(payload, dict) and isinstance(payload.get("sources"), dict):
        position = 0
        for name, source in payload["sources"].items():
            for raw in (source or {}).get("items") or []:
                yield position, raw, f"scraped:{name}"
                position += 1
        return
    elif isinstance(payload, dict) and isinstance(payload.get("items"), list):
        items, shape = payload["items"], "scraped:bizinfo"
    elif isinstance(payload, dict) and isinstance(payload.get("data"), list):
        items, shape = payload["data"], "kstartup"
    elif isinstance(payload, list):
        items, shape = payload, "kstartup"
    else:
        raise FeedError("알 수 없는 피드 형식 (jsonArray, response.body.items.item, K-Startup 목록이 아님)")
    if not isinstance(items, list):
        raise FeedError("항목 목록이 배열이 아님")
    yield from ((i, raw, shape) for i, raw in enumerate(items))


def parse_item(raw: Any, shape: str) -> FeedItem:
    if not isinstance(raw, dict):
        raise ItemError("항목이 객체가 아님")
    if shape == "bizinfo" or "pblancId" in raw:
        return _bizinfo_api(raw)
    if "pbanc_sn" in raw:
        return _kstartup_api(raw)
    return _scraped(raw, shape.split(":", 1)[1] if ":" in shape else None)


# --- storing --------------------------------------------------------------------------------------


@dataclass
class IngestReport:
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    filtered: int = 0
    errors: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.seen} items: {self.created} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.superseded} superseded, {self.filtered} outside the regions, {len(self.errors)} skipped"
        )


class Ingestor:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.planner = ReminderPlanner(db, settings, clock)

    def wanted(self, item: FeedItem) -> bool:
        """Nationwide items (no region named) and items naming one of the agency's regions."""
        if not item.regions:
            return True
        wanted = {_REGION_ALIASES.get(r, r) for r in self.settings.ingest_regions}
        return bool(wanted & set(item.regions))

    async def ingest_url(self, client: httpx.AsyncClient, url: str, *, all_regions: bool = False) -> IngestReport:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            raise FeedError(f"가져오기 실패: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise FeedError(f"HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise FeedError("JSON이 아닌 응답") from exc
        return await self.ingest_payload(payload, all_regions=all_regions)

    async def ingest_payload(self, payload: Any, *, all_regions: bool = False) -> IngestReport:
        report = IngestReport()
        items: dict[tuple[str, str], FeedItem] = {}
        for position, raw, shape in iter_items(payload):
            report.seen += 1
            try:
                item = parse_item(raw, shape)
            except ItemError as exc:
                ident = raw.get("pblancId") or raw.get("pbanc_sn") or raw.get("id") if isinstance(raw, dict) else None
                report.errors.append(f"#{position} ({ident or '-'}): {exc}")
                continue
            report.kinds[item.period.kind] = report.kinds.get(item.period.kind, 0) + 1
            if not all_regions and not self.wanted(item):
                report.filtered += 1
                continue
            items[(item.source, item.source_id)] = item  # a repeated id: the later entry wins
        # Originals before revisions, so a revision in the same batch supersedes its original.
        ordered = sorted(items.values(), key=lambda it: base_key(it.title)[1])
        changed: list[int] = []
        async with self.db.session() as session:
            for item in ordered:
                ann_id = await self._store(session, item, report)
                if ann_id is not None:
                    changed.append(ann_id)
            await session.commit()
        for ann_id in changed:
            await self.planner.sync(ann_id)
        return report

    async def _store(self, session: Any, item: FeedItem, report: IngestReport) -> int | None:
        """Returns the id of a published announcement whose reminders must follow a change."""
        key, revised = base_key(item.title)
        now = self.clock.now()
        row = (
            await session.execute(
                select(Announcement).where(Announcement.source == item.source, Announcement.source_id == item.source_id)
            )
        ).scalar_one_or_none()
        superseding = False
        if row is None and key:
            same_notice = (
                (
                    await session.execute(
                        select(Announcement)
                        .where(Announcement.source == item.source, Announcement.base_key == key)
                        .order_by(Announcement.version.desc(), Announcement.id.desc())
                    )
                )
                .scalars()
                .first()
            )
            if same_notice is not None and revised:
                row, superseding = same_notice, True
                row.source_id = item.source_id
                row.version += 1
            elif same_notice is not None and same_notice.version > 0:
                report.superseded += 1  # an earlier version of a notice we already hold revised
                return None
        if row is None:
            row = Announcement(
                source=item.source,
                source_id=item.source_id,
                status="draft",
                created_at=now,
                base_key=key,
                version=1 if revised else 0,
            )
            session.add(row)
            report.created += 1
        elif superseding:
            report.superseded += 1
        elif not self._differs(row, item):
            report.unchanged += 1
            return None
        else:
            report.updated += 1
        self._apply(row, item, key, now)
        await session.flush()
        return row.id if row.status == "published" else None

    @staticmethod
    def _differs(row: Announcement, item: FeedItem) -> bool:
        return (
            row.title != item.title
            or row.period_kind != item.period.kind
            or row.ends_at != item.period.ends_at
            or row.starts_at != item.period.starts_at
            or row.url != item.url
            or (row.body or "") != item.body
        )

    @staticmethod
    def _apply(row: Announcement, item: FeedItem, key: str, now: datetime) -> None:
        row.title = item.title[:500]
        row.body = item.body
        row.url = item.url
        row.organization = item.organization
        row.period_kind = item.period.kind
        row.period_text = (item.period_text or "")[:200] or None
        row.starts_at = item.period.starts_at
        row.ends_at = item.period.ends_at
        row.regions = item.regions
        row.topics = item.topics
        row.base_key = key
        row.updated_at = now
