"""What a notice says, per channel, and the Telegram splitter (4096 UTF-16 units, tags kept whole)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from core.clock import to_kst
from core.text import utf16_length
from notifier.models import Announcement

TELEGRAM_LIMIT = 4096
BODY_PREVIEW_CHARS = 600
_WEEKDAYS = "월화수목금토일"
_KIND_LABELS = {
    "상시": "상시 접수",
    "예산 소진시": "예산 소진 시까지",
    "추후 공지": "추후 공지",
    "세부사업별 상이": "세부사업별 상이",
    "unspecified": "공고문 참조",
}


@dataclass(frozen=True)
class Content:
    """Channel-neutral text of one message; channels format it."""

    subject: str
    headline: str  # "[새 공고]" or "[마감 D-3]"
    title: str
    lines: tuple[str, ...]
    url: str | None
    unsubscribe_url: str
    message_key: str


def format_moment(moment: datetime) -> str:
    local = to_kst(moment)
    day = f"{local.year}년 {local.month}월 {local.day}일({_WEEKDAYS[local.weekday()]})"
    if (local.hour, local.minute) in ((23, 59), (0, 0)):
        return day
    return f"{day} {local.hour:02d}:{local.minute:02d}"


def period_label(ann: Announcement) -> str:
    if ann.period_kind == "dated" and ann.ends_at is not None:
        end = format_moment(ann.ends_at)
        return f"{format_moment(ann.starts_at)} ~ {end}" if ann.starts_at else f"~ {end}"
    return _KIND_LABELS.get(ann.period_kind, ann.period_text or "공고문 참조")


def reminder_headline(days_before: int) -> str:
    return "[오늘 마감]" if days_before == 0 else f"[마감 D-{days_before}]"


def build_content(ann: Announcement, message_key: str, unsubscribe_url: str) -> Content:
    reminder = message_key.startswith("rem:")
    if reminder:
        days = int(message_key.rsplit(":", 1)[1])
        headline = reminder_headline(days)
    else:
        headline = "[새 공고]"
    lines = [f"접수 기간: {period_label(ann)}"]
    if ann.organization:
        lines.append(f"기관: {ann.organization}")
    if ann.body and not reminder:
        body = ann.body if len(ann.body) <= BODY_PREVIEW_CHARS else ann.body[:BODY_PREVIEW_CHARS].rstrip() + "…"
        lines.append(body)
    return Content(
        subject=f"{headline} {ann.title}",
        headline=headline,
        title=ann.title,
        lines=tuple(lines),
        url=ann.url,
        unsubscribe_url=unsubscribe_url,
        message_key=message_key,
    )


def plain_text(content: Content, unsubscribe_hint: str) -> str:
    parts = [f"{content.headline} {content.title}", "", *content.lines]
    if content.url:
        parts += ["", f"공고 보기: {content.url}"]
    parts += ["", unsubscribe_hint, f"수신 거부: {content.unsubscribe_url}"]
    return "\n".join(parts)


# Said in every Kakao alert; the console's preview shows the same text through kakao_text.
KAKAO_UNSUBSCRIBE_HINT = "알림을 그만 받으려면 '알림 해지'라고 보내 주세요."


def kakao_text(content: Content) -> str:
    return plain_text(content, KAKAO_UNSUBSCRIBE_HINT)


def telegram_html(content: Content) -> str:
    esc = html.escape
    paragraphs = [f"<b>{esc(content.headline)} {esc(content.title)}</b>", "\n".join(esc(x) for x in content.lines)]
    if content.url:
        paragraphs.append(f'<a href="{esc(content.url, quote=True)}">공고 보기</a>')
    paragraphs.append(
        f'알림 해지: /unsubscribe 또는 <a href="{esc(content.unsubscribe_url, quote=True)}">수신 거부</a>'
    )
    return "\n\n".join(paragraphs)


# --- splitting -----------------------------------------------------------------------------

_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|[^<&]+|[<&]")
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)")
_BREAKS = re.compile(r"(\n\n|\n| )")


@dataclass(frozen=True)
class _Atom:
    text: str
    units: int
    quality: int  # how good a cut right after this atom is: 3 paragraph, 2 line, 1 space, 0 none
    stack: tuple[tuple[str, str], ...]  # open tags (name, opening text) after this atom


def _atoms(markup: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    stack: list[tuple[str, str]] = []
    for token in _TOKEN.findall(markup):
        tag = _TAG.match(token) if token.startswith("<") and token.endswith(">") else None
        if tag:
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if closing:
                for i in range(len(stack) - 1, -1, -1):
                    if stack[i][0] == name:
                        del stack[i:]
                        break
            elif not token.endswith("/>"):
                stack.append((name, token))
            atoms.append(_Atom(token, utf16_length(token), 0, tuple(stack)))
            continue
        if token.startswith("&") or token in ("<", "&"):
            atoms.append(_Atom(token, utf16_length(token), 0, tuple(stack)))
            continue
        for piece in _BREAKS.split(token):
            if not piece:
                continue
            quality = {"\n\n": 3, "\n": 2, " ": 1}.get(piece, 0)
            # Words are atoms of one code point each, so a hard cut (no break fits) can fall
            # wherever the room ends, however little a long tag leaves; never inside a
            # surrogate pair, as a code point is whole. Only over-long messages get here.
            runs = [piece] if quality else list(piece)
            atoms.extend(_Atom(run, utf16_length(run), quality, tuple(stack)) for run in runs)
    return atoms


def _closing(stack: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def split_telegram_html(markup: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pieces of at most `limit` UTF-16 units, cut at a paragraph, else a line, else a space,
    never inside a tag, an entity or a surrogate pair; open tags are closed and reopened."""
    if utf16_length(markup) <= limit:
        return [markup]
    atoms = _atoms(markup)
    pieces: list[str] = []
    start, opened = 0, ()
    while start < len(atoms):
        prefix = "".join(text for _, text in opened)
        used = utf16_length(prefix)
        best, best_quality, end = -1, -1, start
        while end < len(atoms):
            atom = atoms[end]
            if used + atom.units + utf16_length(_closing(atom.stack)) > limit:
                break
            used += atom.units
            if atom.quality >= best_quality:
                best, best_quality = end, atom.quality
            end += 1
        if end == len(atoms):
            best = end - 1
        elif best < start:
            raise ValueError("a single tag or entity is longer than the message limit")
        piece = (prefix + "".join(a.text for a in atoms[start : best + 1]) + _closing(atoms[best].stack)).strip()
        if piece and _visible(piece):
            pieces.append(piece)
        opened = atoms[best].stack
        start = best + 1
    return pieces


def _visible(piece: str) -> bool:
    return bool(re.sub(r"<[^>]*>|\s", "", piece))
