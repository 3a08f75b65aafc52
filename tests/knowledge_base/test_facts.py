"""Key facts of the seed plan, checked against the loaded knowledge base."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge_base.loader import DEFAULT_DATA_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]

PROGRAM_IDS_2022 = {
    "innovation_5_industries", "test_analysis", "certification", "facility_modernization",
    "old_equipment_replacement", "compressor_replacement", "sogongin_center", "ev_parts", "ev_consulting",
    "ev_rnd", "ev_rnd_second", "ev_collaboration", "smart_factory", "data_platform", "national_funding",
    "industry_council", "video_conference_room", "gopa500", "field_desk", "alert_channel",
    "expertise", "ethics", "safety", "esg",
}  # fmt: skip
RESULT_IDS = {
    "result_2021_innovation_5_industries", "result_2021_ev_parts", "result_2021_ev_online_education",
    "result_2021_test_analysis", "result_2021_certification", "result_2021_consulting",
    "result_2021_brand_image", "result_2021_sns", "result_2021_sns_supporters", "result_2021_smart_factory",
}  # fmt: skip
NATIONAL_IDS = {"energy_efficiency_market", "leen_pilot", "gyeonggi_sogongin_cluster", "mss_projects"}


def test_the_agreed_ids_exist(kb):
    assert set(kb.programs) >= PROGRAM_IDS_2022 | RESULT_IDS | NATIONAL_IDS
    assert all(kb.program(i).kind == "result_2021" and kb.program(i).year == 2021 for i in RESULT_IDS)
    assert all(kb.program(i).kind == "national_project" for i in NATIONAL_IDS)


def test_budgets_and_company_counts(kb):
    expected = {
        "innovation_5_industries": (100, 10),
        "test_analysis": (25, 25),
        "certification": (100, 20),
        "facility_modernization": (1720, 351),
        "old_equipment_replacement": (1300, 51),
        "compressor_replacement": (420, 300),
        "ev_parts": (400, 20),
        "result_2021_ev_parts": (200, 11),
        "result_2021_test_analysis": (10, 27),
        "result_2021_smart_factory": (700, 30),
    }
    for program_id, (amount, companies) in expected.items():
        program = kb.program(program_id)
        assert (program.budget.amount, program.companies) == (amount, companies), program_id


def test_sub_programs(kb):
    assert {p.id for p in kb.children("facility_modernization")} == {
        "old_equipment_replacement",
        "compressor_replacement",
    }
    assert {p.id for p in kb.children("ev_parts")} == {"ev_consulting", "ev_rnd", "ev_rnd_second", "ev_collaboration"}
    assert "2021" in " ".join(kb.program("ev_rnd_second").target)


def test_summary_table_budgets_match_the_programs(kb):
    table = kb.tables["programs_2022_budget"]
    by_name = {p.name: p for p in kb.programs.values() if p.year == 2022}
    for row in table.rows[1:]:
        printed = row.values[1]
        name = row.label.replace("DB플랫폼", "DB·플랫폼")
        program = by_name[name]
        if isinstance(printed, int | float):
            assert program.budget.amount == printed, name
        else:
            assert printed.split()[-1].strip("()") in (program.budget.note or ""), name


def test_smart_factory_discrepancy_keeps_both_figures(kb):
    program = kb.program("smart_factory")
    budget = next(d for d in program.discrepancies if "예산" in d.topic)
    values = [a.value for a in budget.alternatives]
    assert values == ["500백만원", "2,500백만원"]
    assert all(a.meaning and a.source.section for a in budget.alternatives)
    assert (program.budget.amount, program.budget.total, program.companies) == (500, 2500, 25)
    assert {p.label: p.amount for p in program.budget.parts} == {"국비": 1250, "시비": 500, "자부담": 750}
    typo = next(d for d in program.discrepancies if "사비" in d.topic)
    assert [a.value for a in typo.alternatives] == ["사비 500(20%)", "시비 500(20%)"]


def test_energy_efficiency_has_both_years(kb):
    program = kb.program("energy_efficiency_market")
    assert program.budget.amount == 628
    assert {p.label: p.amount for p in program.budget.parts} == {"국비": 428, "시비": 10, "자부담": 190}
    (history,) = program.budget_history
    assert (history.year, history.budget.amount) == (2021, 361)
    assert {p.label: p.amount for p in history.budget.parts} == {"국비": 284, "자부담": 77, "시비": 0}
    assert kb.program("gyeonggi_sogongin_cluster").budget.amount == 9.1


def test_every_record_has_a_source(kb):
    for program in kb.programs.values():
        assert program.source.section, program.id
        for discrepancy in program.discrepancies:
            assert all(a.source.section for a in discrepancy.alternatives)
    for team in kb.teams.values():
        assert team.source.section
    for table in kb.tables.values():
        assert table.source.section
    for faq in kb.faqs.values():
        assert faq.source.section
    assert kb.common_rules.source.section and kb.organization.source.section


def test_teams_and_phones(kb, seed_text):
    assert kb.teams["policy_planning"].phone == "070-4269-4085"
    assert kb.teams["business_growth"].phone == "070-4269-4084"
    assert kb.teams["policy_project_tf"].phone == "070-4269-4091"
    (discrepancy,) = kb.teams["policy_planning"].discrepancies
    assert {a.value for a in discrepancy.alternatives} == {"070-4269-4085", "070-4269-4084"}
    for team in kb.teams.values():
        assert f"({team.phone})" in seed_text
    assert kb.program("test_analysis").team == "business_growth"
    assert kb.program("sogongin_center").team == "policy_project_tf"


def test_common_rules(kb, seed_text):
    rules = kb.common_rules
    assert "60%~75%" in rules.support_ratio
    assert any("70%" in p for p in rules.payment) and any("30%" in p for p in rules.payment)
    assert "3~7인" in rules.evaluation
    assert "6개월" in rules.max_duration
    section = seed_text[seed_text.index("□ 추진 절차\n") : seed_text.index("□ 추진 일정\n")]
    printed = [line.split("\t")[0].strip() for line in section.splitlines() if "\t<ul" in line]
    assert [step.name for step in rules.process] == printed
    assert [step.order for step in rules.process] == list(range(1, len(printed) + 1))


def test_organization(kb):
    org = kb.organization
    assert org.address == "김포시 양촌읍 황금로273번길 4"
    assert "정원 14명" in org.headcount and "현원 11명" in org.headcount
    board = {r.role: r.count for r in org.board}
    assert board["이사회"] == 13 and board["이사장"] + board["이사"] == 11 and board["감사"] == 2
    committees = {r.role: r.count for r in org.committees}
    assert committees == {
        "정책자문위원회": 10,
        "5대 대표산업혁신 위원회": 28,
        "소공인복합지원센터 장비도입위원회": 10,
        "김포산업진흥원 외부 평가위원 인력 풀": 44,
        "인사위원회": 6,
    }
    assert list(org.strategies) == ["혁신성장", "미래지향", "소통협력", "공정신뢰"]
    assert org.history[4].date == "2020-07-01"


def test_statistics_tables(kb):
    assert {
        "business_establishments",
        "manufacturing_by_size",
        "manufacturing_by_org_type",
        "goldvalley_complexes",
        "five_industries",
        "budget_execution",
    } <= set(kb.tables)
    size = kb.tables["manufacturing_by_size"]
    counts = size.rows[0].values
    assert counts[0] == sum(counts[1:])
    assert kb.tables["five_industries"].rows[1].values[0] == 1144


def test_alert_channel_how_to(kb):
    steps = kb.program("alert_channel").how_to_apply
    assert steps == ["카카오톡 실행", "'김포시 기업지원사업알리미' 검색", "채널 추가"]
    assert "김포시 기업지원사업알리미" in kb.faqs["alert_channel_add"].answer


def _staff_names(seed_text: str) -> set[str]:
    names = {
        re.sub(r"\s", "", m.group(1))
        for m in re.finditer(r"(?:팀\s*장|담당자)\s+([가-힣](?:\s?[가-힣]){1,3})\s*\(0", seed_text)
    }
    board = seed_text[seed_text.index("○ 이사회") : seed_text.index("- 정책자문위원회")]
    for line in board.splitlines()[2:]:
        cells = line.split("\t")
        if len(cells) > 2 and cells[2].strip():
            names.add(re.sub(r"\s", "", cells[2]))
    return names


def _name_patterns(seed_text: str, *, word_end: bool) -> dict[str, re.Pattern[str]]:
    """A name written with or without spaces between its syllables, not inside a longer word
    (a common word can end with the same syllables as a name)."""
    names = _staff_names(seed_text)
    assert len(names) >= 20  # 추진부서 staff and the board: the extraction itself must work
    end = r"(?![가-힣])" if word_end else ""
    return {n: re.compile(r"(?<![가-힣])" + r"\s?".join(n) + end) for n in names}


def test_no_personal_names_in_the_data(seed_text):
    patterns = _name_patterns(seed_text, word_end=False)
    for path in sorted(DEFAULT_DATA_DIR.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        found = sorted(n for n, pattern in patterns.items() if pattern.search(text))
        assert not found, f"{path.name} contains personal names: {found}"


def test_no_personal_names_anywhere_in_the_repo(seed_text):
    """Code, NLU examples, templates and docs too; a name followed by a particle is not caught here."""
    patterns = _name_patterns(seed_text, word_end=True)
    skip = {".git", ".venv", "var", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
    suffixes = {".py", ".yaml", ".yml", ".md", ".txt", ".html", ".j2", ".json", ".toml", ".sh", ".js", ".css"}
    hits = []
    for path in REPO_ROOT.rglob("*"):
        if path.suffix not in suffixes or skip & set(path.relative_to(REPO_ROOT).parts) or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{path.relative_to(REPO_ROOT)}: {n}" for n, pattern in patterns.items() if pattern.search(text)]
    assert not hits


def test_applicable_programs_say_what_and_for_whom(kb):
    for program in kb.applicable_programs():
        assert program.support, program.id
        assert program.target, program.id
        assert program.how_to_apply, program.id
        assert program.team in kb.teams, program.id
