"""Reads the schedule tables of section V of the seed plan (tab-separated week columns).

Used once to write `data/schedules` into the YAML and by the tests to re-derive them, so the
YAML cannot drift from the plan. Each table comes in halves (1~6월/7~12월, or 4~6월/7~9월);
column 0 is 구분, column 1 is 예산, then one column per week. A step marked in both halves
with adjacent weeks becomes one range; separate runs of marks stay separate steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SECTION_MARK = "□ 추진 일정"
_TABLE_TITLE = re.compile(r"^\((\d+)\)\s*(.+)$")
_MONTH = re.compile(r"^(\d{1,2})월$")
WEEKS_PER_MONTH = 4
OVERFLOW_CAVEAT = (
    "원문 표에서 마지막 주 칸 오른쪽 칸에도 표시가 있어, 표의 마지막 주까지로 읽었습니다"
    "(표 변환 때 칸이 밀린 것으로 보임)."
)


@dataclass
class SeedStep:
    step: str
    start: tuple[int, int]  # (month, week)
    end: tuple[int, int] | None
    note: str | None = None
    until: str | None = None  # free text instead of an end week (~중기부 사업 종료시까지)
    overflow: bool = False  # marks printed right of the last week column


@dataclass
class SeedTable:
    number: int
    title: str
    row_title: str = ""
    budget: float | None = None
    steps: list[SeedStep] = field(default_factory=list)


def _split_note(text: str) -> tuple[str, str | None]:
    name, _, note = text.partition("※")
    return name.strip(), ("※" + note.strip()) if note else None


def _position(months: list[int], index: int) -> tuple[int, int]:
    return months[index // WEEKS_PER_MONTH], index % WEEKS_PER_MONTH + 1


def _next_week(month: int, week: int) -> tuple[int, int]:
    return (month, week + 1) if week < WEEKS_PER_MONTH else (month + 1, 1)


def parse_schedule_tables(text: str) -> list[SeedTable]:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == SECTION_MARK)
    tables: list[SeedTable] = []
    months: list[int] = []
    for line in lines[start + 1 :]:
        title = _TABLE_TITLE.match(line.strip())
        if title:
            tables.append(SeedTable(int(title.group(1)), title.group(2).strip()))
            continue
        cells = line.split("\t")
        if not tables or len(cells) < 2:  # trailing tabs may be lost: a title row can be "이름\t예산"
            continue
        table = tables[-1]
        if cells[0].replace(" ", "") == "구분":
            months = [int(m.group(1)) for c in cells[2:] if (m := _MONTH.match(c.strip()))]
            continue
        if not cells[0].strip():
            continue  # the week-number row
        if not cells[0].startswith("- "):
            table.row_title = cells[0].strip()
            table.budget = float(cells[1].replace(",", "")) if cells[1].strip() else None
            continue
        name, note = _split_note(cells[0][2:])
        week_cells = cells[2:]
        last = len(months) * WEEKS_PER_MONTH
        runs: list[list[int]] = []
        until: str | None = None
        for i, cell in enumerate(week_cells):
            mark = cell.strip()
            if not mark:
                continue
            if mark != "•":
                until = mark
            if runs and runs[-1][-1] == i - 1 and until is None:
                runs[-1].append(i)
            else:
                runs.append([i])
            if until:
                break
        for run in runs:
            overflow = run[-1] >= last
            inside = [i for i in run if i < last]
            step = SeedStep(
                step=name,
                start=_position(months, inside[0]),
                end=None if until else _position(months, inside[-1]),
                note=note,
                until=until.lstrip("~") if until else None,
                overflow=overflow,
            )
            _add_step(table, step)
    return tables


def _add_step(table: SeedTable, step: SeedStep) -> None:
    """Joins a step continuing from the previous half (same name, next week) into one range."""
    for previous in table.steps:
        if (
            previous.step == step.step
            and previous.end is not None
            and previous.end[0] <= 6 < step.start[0]
            and _next_week(*previous.end) == step.start
        ):
            previous.end = step.end
            previous.until = step.until
            previous.note = previous.note or step.note
            previous.overflow = previous.overflow or step.overflow
            return
    table.steps.append(step)


def read_schedule_tables(path: Path) -> list[SeedTable]:
    return parse_schedule_tables(path.read_text(encoding="utf-8"))
