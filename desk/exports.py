"""Consultations and intents as CSV (UTF-8 with BOM, for Excel) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from urllib.parse import quote

from core.clock import KST
from desk.models import ApplicationIntent, Company, Consultation
from desk.validation import format_brn

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CONSULTATION_HEADER = (
    "번호",
    "상담일시(KST)",
    "기업명",
    "사업자등록번호",
    "연락처",
    "경로",
    "분야",
    "논의 사업",
    "내용",
    "후속조치일",
    "상태",
    "담당",
)
INTENT_HEADER = ("번호", "등록일시(KST)", "기업명", "사업 ID", "공고", "상태", "출처", "메모")


def neutralise(cell: object) -> object:
    """Spreadsheet formula injection: a text cell must never start a formula."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def company_contact(company: Company) -> str:
    """The contact staff call back, in its own column rather than only inside the notes."""
    return " / ".join(part for part in (company.contact_name, company.contact_phone, company.contact_email) if part)


def consultation_rows(items: Sequence[Consultation], program_label: Callable[[str], str] = str) -> list[list[object]]:
    return [
        [
            c.id,
            c.occurred_at.astimezone(KST).strftime("%Y-%m-%d %H:%M"),
            c.company.name,
            format_brn(c.company.brn) if c.company.brn else "",
            company_contact(c.company),
            c.channel,
            ", ".join(c.categories),
            ", ".join(map(program_label, c.program_ids)),
            c.notes,
            c.follow_up_on.isoformat() if c.follow_up_on else "",
            c.status,
            c.staff.display_name if c.staff else ("챗봇" if c.origin else ""),
        ]
        for c in items
    ]


def intent_rows(items: Sequence[ApplicationIntent], program_label: Callable[[str], str] = str) -> list[list[object]]:
    return [
        [
            i.id,
            i.created_at.astimezone(KST).strftime("%Y-%m-%d %H:%M"),
            i.company.name if i.company else "(미확인)",
            program_label(i.program_id) if i.program_id else "",
            i.announcement_ref or "",
            i.status,
            "직원" if i.source == "staff" else "챗봇",
            i.note,
        ]
        for i in items
    ]


def to_csv(header: Sequence[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    # The BOM makes Excel read the file as UTF-8 instead of the legacy code page.
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(title: str, header: Sequence[str], rows: list[list[object]]) -> bytes:
    # openpyxl costs a tenth of the service's cold start to import; only exports need it.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(header))
    for row in rows:
        # A worksheet cannot hold control characters; CSV keeps them as typed.
        sheet.append([neutralise(ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c) for c in row])
    for index, name in enumerate(header, start=1):
        width = max([len(str(name)) * 2, *(len(str(r[index - 1])) for r in rows[:200])], default=10)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 8), 60)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(kind: str, date_from: date | None, date_to: date | None, extension: str) -> tuple[str, str]:
    """(Korean name, ASCII fallback) such as ('상담기록_2026-11-01_2026-11-30.xlsx', 'consultations_...')."""
    korean = {"consultations": "상담기록", "intents": "신청의향"}[kind]
    span = f"_{date_from or '처음'}_{date_to or '오늘'}"
    ascii_span = f"_{date_from or 'start'}_{date_to or 'today'}"
    return f"{korean}{span}.{extension}", f"{kind}{ascii_span}.{extension}"


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266 with the RFC 5987 `filename*` for the Korean name and an ASCII fallback."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
