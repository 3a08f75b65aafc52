"""The schedules in the YAML must be exactly what section V of the seed plan says."""

from __future__ import annotations

from knowledge_base.seed_schedules import OVERFLOW_CAVEAT, parse_schedule_tables


def _yaml_steps(program):
    return [
        (s.step, (s.start_month, s.start_week), (s.end_month, s.end_week) if s.end_month else None, s.until, s.note)
        for s in program.schedule.steps
    ]


def test_every_seed_table_is_in_the_yaml(kb, seed_text):
    tables = parse_schedule_tables(seed_text)
    assert len(tables) == 7
    scheduled = {p.schedule.title: p for p in kb.programs.values() if p.schedule}
    assert set(scheduled) == {t.title for t in tables}
    for table in tables:
        program = scheduled[table.title]
        assert program.schedule.budget == table.budget, table.title
        assert program.schedule.year == 2022
        assert "2022" in program.schedule.plan_note
        expected = [(s.step, s.start, s.end, s.until, s.note) for s in table.steps]
        assert _yaml_steps(program) == expected, table.title
        caveats = [bool(s.caveat) for s in program.schedule.steps]
        assert caveats == [s.overflow for s in table.steps], table.title


def _when(kb, program_id):
    return {s.step: s.when() for s in kb.program(program_id).schedule.steps}


def test_ranges_read_by_hand_from_the_plan(kb):
    """Spot checks read off the printed tables by eye, independent of the parser."""
    assert _when(kb, "innovation_5_industries")["사업 공고 및 서류 접수"] == "3월 1~4주"
    assert _when(kb, "innovation_5_industries")["사업수행(착수, 중간, 완료보고)"] == "5월 1주~10월 4주"
    assert _when(kb, "test_analysis")["사업 공고 및 서류 접수(선착순)"] == "6월 4주~7월 3주"
    assert _when(kb, "certification")["사업 추진계획 및 공고계획 수립"] == "6월 4주~7월 1주"
    assert _when(kb, "certification")["사업 결과 보고"] == "9월 1~2주"
    assert _when(kb, "compressor_replacement")["사업 공고 및 서류 접수(3차)"] == "5월 2주~6월 1주"
    assert _when(kb, "old_equipment_replacement")["사업 결과 보고 및 정산"] == "12월 1~2주"
    assert _when(kb, "smart_factory")["중기부 사업 접수 및 선정"] == "2월 1주~7월 4주"


def test_payment_notes_are_kept(kb):
    steps = kb.program("innovation_5_industries").schedule.steps
    notes = {s.step: s.note for s in steps}
    assert notes["기업 선정 및 협약 체결"] == "※사업지원금 1차 지급(70%)"
    assert notes["사업 결과 보고 및 정산"] == "※사업지원금 2차 지급(30%)"


def test_smart_factory_inspection_runs_until_the_ministry_project_ends(kb):
    step = kb.program("smart_factory").schedule.steps[-1]
    assert step.step == "사업수행 점검"
    assert (step.start_month, step.start_week, step.end_month) == (11, 1, None)
    assert step.when() == "11월 1주~중기부 사업 종료시까지"


def test_separate_marks_stay_separate(kb):
    steps = kb.program("smart_factory").schedule.steps
    agreement = [s.when() for s in steps if s.step == "협약 체결 및 사업지원금 지급"]
    assert agreement == ["10월 1주", "11월 1주"]


def test_ev_table_overflow_is_flagged(kb):
    steps = kb.program("ev_parts").schedule.steps
    flagged = [s.step for s in steps if s.caveat == OVERFLOW_CAVEAT]
    assert flagged == ["사업수행(착수, 중간, 완료보고)", "사업 결과 보고 및 정산"]


def test_parser_merges_halves_and_reads_free_text():
    text = "\n".join(
        [
            "□ 추진 일정",
            "(1) 테스트 사업",
            "구 분\t예산 (백만원)\t1월\t\t\t\t2월\t\t\t\t3월\t\t\t\t4월\t\t\t\t5월\t\t\t\t6월",
            "\t\t1\t2\t3\t4\t1\t2\t3\t4\t1\t2\t3\t4\t1\t2\t3\t4\t1\t2\t3\t4\t1\t2\t3\t4",
            "테스트 사업\t1,300",
            "- 공고 ※비고" + "\t" * 25 + "•",
            "구 분\t예산 (백만원)\t7월\t\t\t\t8월\t\t\t\t9월\t\t\t\t10월\t\t\t\t11월\t\t\t\t12월",
            "- 공고 ※비고\t\t•\t•",
            "- 점검\t\t\t\t~끝날 때까지",
        ]
    )
    (table,) = parse_schedule_tables(text)
    assert table.budget == 1300
    first, second = table.steps
    assert (first.step, first.start, first.end, first.note) == ("공고", (6, 4), (7, 2), "※비고")
    assert (second.start, second.end, second.until) == ((7, 3), None, "끝날 때까지")
