"""Loads and checks the YAML knowledge base; every problem names the file, the line and the field.

`load_yaml_models` is the reusable part (other packages' YAML, e.g. eligibility rules, can call
it); `load_knowledge_base` reads the files listed in `KB_FILES`, checks cross references and
caches the result by the files' modification times, because it runs at every app start.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from knowledge_base.schema import (
    CommonRules,
    Faq,
    Organization,
    Program,
    ProgramSchedule,
    Schedule,
    StatTable,
    Team,
)
from knowledge_base.store import KnowledgeBase

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

# file name -> top-level key. The eligibility helper's files (eligibility*.yaml) live beside
# these and are loaded by their own package, so the directory is not globbed.
KB_FILES: dict[str, str] = {
    "teams.yaml": "teams",
    "programs_2022.yaml": "programs",
    "services.yaml": "programs",
    "management.yaml": "programs",
    "results_2021.yaml": "programs",
    "national_projects.yaml": "programs",
    "schedules_2022.yaml": "schedules",
    "common_rules.yaml": "common_rules",
    "organization.yaml": "organization",
    "statistics.yaml": "tables",
    "faq.yaml": "faqs",
}

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

try:  # libyaml is much faster; the pure-Python loader gives the same nodes.
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class KnowledgeBaseError(ValueError):
    """Bad knowledge-base data. `problems` lists every one found, each with file, line and field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Located(Generic[T]):
    """A validated record and where it came from (for cross-reference errors)."""

    value: T
    file: str
    line: int


def _compose(path: Path) -> tuple[yaml.Node | None, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeBaseError([Problem(str(path), None, "", f"cannot read: {exc.strerror}")]) from exc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise KnowledgeBaseError([Problem(str(path), line, "", f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    return node, data


def _child(node: yaml.Node, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                return value_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _line_of(node: yaml.Node, loc: Iterable[str | int]) -> int:
    """The line of the deepest node `loc` reaches (the parent mapping for a missing field)."""
    for key in loc:
        child = _child(node, key)
        if child is None:
            if isinstance(node, yaml.MappingNode):
                for key_node, _ in node.value:
                    if key_node.value == str(key):  # an unexpected key: point at it
                        return key_node.start_mark.line + 1
            break
        node = child
    return node.start_mark.line + 1


def _field(prefix: Sequence[str | int], loc: Iterable[str | int]) -> str:
    parts = [*prefix, *loc]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(model: type[M], data: Any, node: yaml.Node, file: str, prefix: Sequence[str | int]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(file, _line_of(node, err["loc"]), _field(prefix, err["loc"]), err["msg"])
            for err in exc.errors(include_url=False)
        ]
        raise KnowledgeBaseError(problems) from None


def _section(path: Path, key: str | None) -> tuple[yaml.Node, Any, list[str | int]]:
    node, data = _compose(path)
    if node is None:
        raise KnowledgeBaseError([Problem(str(path), None, key or "", "the file is empty")])
    if key is None:
        return node, data, []
    section = _child(node, key)
    if not isinstance(data, dict) or section is None:
        raise KnowledgeBaseError([Problem(str(path), node.start_mark.line + 1, key, f"missing top-level key {key!r}")])
    extra = sorted(set(data) - {key})
    if extra:
        raise KnowledgeBaseError(
            [Problem(str(path), _line_of(node, [extra[0]]), extra[0], f"unexpected top-level key (only {key!r})")]
        )
    return section, data[key], [key]


def load_yaml_models(path: Path, model: type[M], key: str | None = None) -> list[Located[M]]:
    """Validates a YAML list of `model` records (under top-level `key`, or the whole document).

    Collects the problems of every record before raising `KnowledgeBaseError`."""
    node, data, prefix = _section(path, key)
    if not isinstance(node, yaml.SequenceNode) or not isinstance(data, list):
        raise KnowledgeBaseError([Problem(str(path), node.start_mark.line + 1, key or "", "expected a list")])
    records: list[Located[M]] = []
    problems: list[Problem] = []
    for index, (item_node, item) in enumerate(zip(node.value, data, strict=True)):
        try:
            value = _validate(model, item, item_node, str(path), [*prefix, index])
        except KnowledgeBaseError as exc:
            problems.extend(exc.problems)
            continue
        records.append(Located(value, str(path), item_node.start_mark.line + 1))
    if problems:
        raise KnowledgeBaseError(problems)
    return records


def load_yaml_model(path: Path, model: type[M], key: str | None = None) -> Located[M]:
    """Validates one YAML mapping as `model` (under top-level `key`, or the whole document)."""
    node, data, prefix = _section(path, key)
    return Located(_validate(model, data, node, str(path), prefix), str(path), node.start_mark.line + 1)


def _unique(records: Iterable[Located[Any]], what: str) -> tuple[dict[str, Located[Any]], list[Problem]]:
    seen: dict[str, Located[Any]] = {}
    problems: list[Problem] = []
    for record in records:
        key = record.value.id
        if key in seen:
            first = seen[key]
            problems.append(
                Problem(
                    record.file, record.line, "id", f"duplicate {what} id {key!r} (first at {first.file}:{first.line})"
                )
            )
        else:
            seen[key] = record
    return seen, problems


def _build(directory: Path) -> KnowledgeBase:
    problems: list[Problem] = []
    teams: list[Located[Team]] = []
    programs: list[Located[Program]] = []
    schedules: list[Located[ProgramSchedule]] = []
    tables: list[Located[StatTable]] = []
    faqs: list[Located[Faq]] = []
    rules: Located[CommonRules] | None = None
    organization: Located[Organization] | None = None
    for name, key in KB_FILES.items():
        path = directory / name
        try:
            if key == "teams":
                teams += load_yaml_models(path, Team, key)
            elif key == "programs":
                programs += load_yaml_models(path, Program, key)
            elif key == "schedules":
                schedules += load_yaml_models(path, ProgramSchedule, key)
            elif key == "tables":
                tables += load_yaml_models(path, StatTable, key)
            elif key == "faqs":
                faqs += load_yaml_models(path, Faq, key)
            elif key == "common_rules":
                rules = load_yaml_model(path, CommonRules, key)
            elif key == "organization":
                organization = load_yaml_model(path, Organization, key)
        except KnowledgeBaseError as exc:
            problems += exc.problems
    if problems:  # cross references would only repeat these as unknown ids
        raise KnowledgeBaseError(problems)
    team_by_id, found = _unique(teams, "team")
    problems += found
    program_by_id, found = _unique(programs, "program")
    problems += found
    table_by_id, found = _unique(tables, "table")
    problems += found
    faq_by_id, found = _unique(faqs, "faq")
    problems += found
    for record in program_by_id.values():
        program = record.value
        for field, team in [("team", program.team), *(("other_teams", t) for t in program.other_teams)]:
            if team is not None and team not in team_by_id:
                problems.append(Problem(record.file, record.line, f"{program.id}.{field}", f"unknown team {team!r}"))
        if program.parent is not None and program.parent not in program_by_id:
            problems.append(
                Problem(record.file, record.line, f"{program.id}.parent", f"unknown program {program.parent!r}")
            )
        if program.parent == program.id:
            problems.append(Problem(record.file, record.line, f"{program.id}.parent", "a program is its own parent"))
    if organization is not None:
        for team in organization.value.teams:
            if team not in team_by_id:
                problems.append(
                    Problem(organization.file, organization.line, "organization.teams", f"unknown team {team!r}")
                )
    scheduled: dict[str, Located[ProgramSchedule]] = {}
    for record in schedules:
        target = record.value.program
        if target not in program_by_id:
            problems.append(Problem(record.file, record.line, "program", f"unknown program {target!r}"))
        elif target in scheduled or program_by_id[target].value.schedule is not None:
            problems.append(Problem(record.file, record.line, "program", f"{target!r} already has a schedule"))
        else:
            scheduled[target] = record
    if problems:
        raise KnowledgeBaseError(problems)
    assert rules is not None and organization is not None  # a missing file is a problem above
    merged: dict[str, Program] = {}
    for program_id, record in program_by_id.items():
        program = record.value
        if program_id in scheduled:
            table = scheduled[program_id].value
            schedule = Schedule.model_validate(table.model_dump(exclude={"program"}))
            program = program.model_copy(update={"schedule": schedule})
        merged[program_id] = program
    return KnowledgeBase(
        programs=merged,
        teams={k: v.value for k, v in team_by_id.items()},
        common_rules=rules.value,
        organization=organization.value,
        tables={k: v.value for k, v in table_by_id.items()},
        faqs={k: v.value for k, v in faq_by_id.items()},
    )


_cache: dict[Path, tuple[tuple[tuple[str, int], ...], KnowledgeBase]] = {}
_cache_lock = threading.Lock()


def _stamp(directory: Path) -> tuple[tuple[str, int], ...]:
    stamps = []
    for name in KB_FILES:
        try:
            stamps.append((name, (directory / name).stat().st_mtime_ns))
        except OSError:
            stamps.append((name, -1))
    return tuple(stamps)


def load_knowledge_base(path: Path | str | None = None) -> KnowledgeBase:
    """The validated knowledge base in `path` (default: the packaged data), cached until a file changes.

    Raises `KnowledgeBaseError` listing every problem (file:line field: message)."""
    directory = Path(path).resolve() if path is not None else DEFAULT_DATA_DIR
    stamp = _stamp(directory)
    with _cache_lock:
        hit = _cache.get(directory)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        kb = _build(directory)
        _cache[directory] = (stamp, kb)
        return kb
