"""Eligibility rules and the evaluator: cited sources, the profile table, unknown facts, bad data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.text import clean_display
from knowledge_base.eligibility import (
    DATA_DIR,
    FACT_NAMES,
    CompanyFacts,
    UnknownFactValue,
    evaluate,
    load_regions,
    load_rules,
    object_particle,
)
from knowledge_base.loader import KnowledgeBaseError
from knowledge_base.schema import INDUSTRIES, PLAN_DOCUMENT
from knowledge_base.store import KnowledgeBase
from tests.knowledge_base.eligibility_profiles import Profile, outcomes, profile_params


def test_every_quote_is_the_plans_own_words(seed_text: str) -> None:
    rules = load_rules()
    text = clean_display(seed_text)
    sources = [rules.representative_industries.source]
    for program in rules.programs:
        sources += [rule.source for rule in program.rules] + [note.source for note in program.notes]
    assert len(sources) > 25
    for source in sources:
        assert source.document == PLAN_DOCUMENT
        assert clean_display(source.quote) in text, source.quote


def test_every_applicable_program_has_rules(kb: KnowledgeBase) -> None:
    leaves = {p.id for p in kb.applicable_programs() if not kb.children(p.id)}
    assert {p.program for p in load_rules().programs} == leaves
    result = evaluate(CompanyFacts(), kb=kb)
    assert result.result("compressor_replacement").short_name == kb.program("compressor_replacement").short_name  # type: ignore[union-attr]


def test_representative_industries_are_the_plans_five_as_the_kb_names_them() -> None:
    values = load_rules().representative_industries.values
    assert values == ["전기자동차", "첨단소재부품", "지능형기계", "스마트물류", "관광레저"]
    assert tuple(values) == INDUSTRIES


def test_gimpo_has_fourteen_eupmyeondong() -> None:
    regions = load_regions()
    names = [p.name for p in regions.eupmyeondong]
    assert len(names) == len(set(names)) == 14
    assert {"양촌읍", "통진읍", "고촌읍", "대곶면", "월곶면", "하성면", "김포본동", "구래동"} <= set(names)


@pytest.mark.parametrize("profile", profile_params())
def test_profile_table_through_the_evaluator(profile: Profile) -> None:
    result = evaluate(CompanyFacts.model_validate(profile.facts))
    assert outcomes([r.model_dump() for r in result.results]) == profile.expected
    for outcome, ids in result.by_outcome.items():
        assert all(profile.expected[i] == outcome for i in ids)


def test_compressor_for_a_six_person_manufacturer_cites_sogongin() -> None:
    facts = CompanyFacts(sigungu="김포시", eupmyeondong="양촌읍", is_manufacturer=True, employees=6)
    compressor = evaluate(facts).result("compressor_replacement")
    assert compressor is not None and compressor.outcome == "신청 가능"
    assert [r.status for r in compressor.reasons] == ["충족", "충족", "충족"]
    assert any("소공인" in r.requirement and "상시근로자 6명" in r.text for r in compressor.reasons)
    assert all("코로나19 위기 소공인 콤프레샤 교체 지원" in r.source for r in compressor.reasons[1:])
    assert any("10명 미만" in (r.definition or "") for r in compressor.reasons)


def test_smart_factory_needs_mss_selection_first() -> None:
    unknown = evaluate(CompanyFacts(in_gimpo=True)).result("smart_factory")
    assert unknown is not None and unknown.outcome == "확인 필요"
    assert unknown.missing_facts == ["mss_smart_factory_selected"]
    assert "먼저 선정된 기업만" in unknown.reasons[1].text
    assert "스마트공장 보급·확산사업" in unknown.reasons[1].source
    refused = evaluate(CompanyFacts(in_gimpo=True, mss_smart_factory_selected=False)).result("smart_factory")
    assert refused is not None and refused.outcome == "불가"
    assert "먼저 중기부" in refused.reasons[1].text


def test_unknown_facts_are_named_not_guessed() -> None:
    result = evaluate(CompanyFacts())
    for program in result.results:
        assert program.outcome == "확인 필요"
        assert program.missing_facts
        assert set(program.missing_facts) <= set(FACT_NAMES)
        assert all(r.status == "확인 필요" for r in program.reasons)


def test_a_plan_hint_gives_check_not_refusal() -> None:
    """The plan only hints at the industry of the EV programs: a non-EV answer is 확인 필요."""
    facts = CompanyFacts(in_gimpo=True, representative_industry="관광레저")
    result = evaluate(facts)
    assert result.result("ev_rnd").outcome == "확인 필요"  # type: ignore[union-attr]
    assert "공고문" in result.result("ev_rnd").reasons[1].text  # type: ignore[union-attr]
    assert result.result("innovation_5_industries").outcome == "확인 필요"  # type: ignore[union-attr]


def test_head_count_decides_over_a_small_workforce_flag() -> None:
    facts = CompanyFacts(in_gimpo=True, is_manufacturer=True, employees=12, small_workforce=True)
    assert evaluate(facts).result("compressor_replacement").outcome == "불가"  # type: ignore[union-attr]
    facts = CompanyFacts(in_gimpo=True, is_manufacturer=True, employees=9)
    assert evaluate(facts).result("compressor_replacement").outcome == "신청 가능"  # type: ignore[union-attr]
    facts = CompanyFacts(in_gimpo=True, is_manufacturer=True, employees=10)
    assert evaluate(facts).result("compressor_replacement").outcome == "불가"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("facts", "in_gimpo"),
    [
        ({"eupmyeondong": "하성면"}, True),
        ({"sigungu": "김포"}, True),
        ({"sigungu": "인천 서구"}, False),
        ({"sigungu": "서울 강서구"}, False),
        ({"in_gimpo": True, "sigungu": "부천시"}, False),
        ({}, None),
    ],
)
def test_location_is_derived_from_place_names(facts: dict, in_gimpo: bool | None) -> None:
    assert evaluate(CompanyFacts.model_validate(facts)).facts["in_gimpo"] is in_gimpo


def test_an_unknown_representative_industry_is_refused() -> None:
    with pytest.raises(UnknownFactValue, match="전기자동차"):
        evaluate(CompanyFacts(representative_industry="반도체"))


def test_only_the_programs_asked_for() -> None:
    result = evaluate(CompanyFacts(), program_ids=["smart_factory"])
    assert [r.program_id for r in result.results] == ["smart_factory"]


def test_a_broken_rules_file_names_file_line_and_field(tmp_path: Path) -> None:
    for name in ("eligibility.yaml", "gimpo_regions.yaml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    path = tmp_path / "eligibility.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if "fact: is_manufacturer" in line)
    lines[index] = lines[index].replace("is_manufacturer", "is_factory")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as caught:
        load_rules(tmp_path)
    problem = caught.value.problems[0]
    assert problem.line == index + 1
    assert "fact" in problem.field


@pytest.mark.parametrize(("word", "particle"), [("상시근로자 수", "를"), ("업종", "을"), ("소재지(김포시 여부)", "를")])
def test_object_particle(word: str, particle: str) -> None:
    assert object_particle(word) == particle


def test_kb_check_validates_the_rules_too(data_copy: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["kb", "check", "--path", str(data_copy)])
    assert ok.exit_code == 0, ok.output
    assert "eligibility rules for 10 programs" in ok.output
    path = data_copy / "eligibility.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("program: smart_factory", "program: smart_factroy"))
    broken = runner.invoke(app, ["kb", "check", "--path", str(data_copy)])
    assert broken.exit_code == 1
    assert "unknown program ids: smart_factroy" in broken.output
