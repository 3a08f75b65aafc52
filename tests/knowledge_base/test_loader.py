from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from knowledge_base.loader import KnowledgeBaseError, load_knowledge_base, load_yaml_models


def _line_of(path: Path, text: str, after: str | None = None) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def _replace(path: Path, old: str, new: str, after: str | None = None) -> None:
    text = path.read_text(encoding="utf-8")
    at = text.index(after) if after else 0
    index = text.index(old, at)
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")


def _errors(path: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(path)
    return [str(p) for p in info.value.problems]


def test_packaged_data_loads(kb):
    assert len(kb.programs) >= 38
    assert set(kb.teams) == {"policy_planning", "business_growth", "policy_project_tf"}


def test_bad_field_names_file_line_and_field(data_copy):
    path = data_copy / "programs_2022.yaml"
    _replace(path, "companies: 25", "companies: 스물다섯", after="id: test_analysis")
    line = _line_of(path, "companies: 스물다섯")
    errors = _errors(data_copy)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:{line}: programs[1].companies:")


def test_missing_required_field_points_at_the_record(data_copy):
    path = data_copy / "teams.yaml"
    _replace(path, "    phone: 070-4269-4084\n", "", after="id: business_growth")
    record_line = _line_of(path, "id: business_growth")
    (problem,) = _errors(data_copy)
    assert problem.startswith(f"{path}:{record_line}: teams[1].phone: Field required")


def test_unexpected_key_is_named_with_its_line(data_copy):
    path = data_copy / "services.yaml"
    _replace(path, "    budget: {note: 비예산}", "    budgett: {note: 비예산}", after="id: gopa500")
    line = _line_of(path, "budgett:")
    (problem,) = _errors(data_copy)
    assert problem.startswith(f"{path}:{line}: programs[1].budgett:")


def test_nested_field_error(data_copy):
    path = data_copy / "programs_2022.yaml"
    _replace(path, "{label: 국비, amount: 1250, percent: 50}", "{label: 국비, amount: 많음, percent: 50}")
    line = _line_of(path, "amount: 많음")
    (problem,) = _errors(data_copy)
    assert f"{path}:{line}: programs[" in problem
    assert ".budget.parts[0].amount:" in problem


def test_unknown_topic(data_copy):
    path = data_copy / "programs_2022.yaml"
    _replace(path, "topics: [제조, 인증]", "topics: [제조, 인즈]")
    line = _line_of(path, "topics: [제조, 인즈]")
    (problem,) = _errors(data_copy)
    assert problem.startswith(f"{path}:{line}: programs[2].topics:")
    assert "인즈" in problem


def test_unknown_team(data_copy):
    path = data_copy / "programs_2022.yaml"
    _replace(path, "team: business_growth", "team: marketing_team", after="id: certification")
    line = _line_of(path, "id: certification")
    (problem,) = _errors(data_copy)
    assert problem == f"{path}:{line}: certification.team: unknown team 'marketing_team'"


def test_unknown_parent(data_copy):
    path = data_copy / "programs_2022.yaml"
    _replace(path, "parent: ev_parts", "parent: ev_partz")
    (problem,) = _errors(data_copy)
    assert "parent: unknown program 'ev_partz'" in problem


def test_duplicate_program_id_across_files(data_copy):
    path = data_copy / "services.yaml"
    _replace(path, "id: gopa500", "id: test_analysis")
    line = _line_of(path, "id: test_analysis")
    first = _line_of(data_copy / "programs_2022.yaml", "id: test_analysis")
    (problem,) = _errors(data_copy)
    assert problem == (
        f"{path}:{line}: id: duplicate program id 'test_analysis' (first at {data_copy / 'programs_2022.yaml'}:{first})"
    )


def test_schedule_for_unknown_program(data_copy):
    path = data_copy / "schedules_2022.yaml"
    _replace(path, "program: test_analysis", "program: test_analysys")
    (problem,) = _errors(data_copy)
    assert "program: unknown program 'test_analysys'" in problem


def test_invalid_yaml_names_the_line(data_copy):
    path = data_copy / "faq.yaml"
    _replace(path, "  - id: location\n", "  - id: location\n   bad: [unclosed\n")
    (problem,) = _errors(data_copy)
    assert problem.startswith(f"{path}:")
    assert "invalid YAML" in problem


def test_every_problem_is_reported_not_only_the_first(data_copy):
    _replace(data_copy / "programs_2022.yaml", "companies: 25", "companies: x", after="id: test_analysis")
    _replace(data_copy / "teams.yaml", "phone: 070-4269-4091", "phone: 4091")
    errors = _errors(data_copy)
    assert len(errors) == 2
    assert any("programs_2022.yaml" in e and "companies" in e for e in errors)
    assert any("teams.yaml" in e and "teams[2].phone" in e for e in errors)


def test_cache_returns_the_same_object_until_a_file_changes(data_copy):
    first = load_knowledge_base(data_copy)
    assert load_knowledge_base(data_copy) is first
    path = data_copy / "faq.yaml"
    _replace(path, "김포산업진흥원은 어디에 있나요?", "진흥원 위치가 어디예요?")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    reloaded = load_knowledge_base(data_copy)
    assert reloaded is not first
    assert reloaded.faqs["location"].question == "진흥원 위치가 어디예요?"


class _Rule(BaseModel):
    name: str
    min_employees: int


def test_load_yaml_models_is_reusable(tmp_path):
    path = tmp_path / "rules.yaml"
    bad = "rules:\n  - name: a\n    min_employees: 5\n  - name: b\n    min_employees: many\n"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as info:
        load_yaml_models(path, _Rule, "rules")
    assert [str(p).split(": ", 2)[:2] for p in info.value.problems] == [[f"{path}:5", "rules[1].min_employees"]]
    path.write_text("rules:\n  - name: a\n    min_employees: 5\n", encoding="utf-8")
    (record,) = load_yaml_models(path, _Rule, "rules")
    assert record.value == _Rule(name="a", min_employees=5)
    assert record.line == 2
