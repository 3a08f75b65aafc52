"""Free answers to company facts."""

from __future__ import annotations

import pytest

from bot.eligibility_parse import extract
from knowledge_base.eligibility import load_regions, load_rules


def facts(text: str, expecting: str | None = None) -> dict:
    found = extract(text, load_regions(), load_rules().representative_industries.values, expecting)
    return found.values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("직원 7명이에요", {"employees": 7}),
        ("상시근로자 12인", {"employees": 12}),
        ("열두 명이요", {"employees": 12}),
        ("다섯 명", {"employees": 5}),
        ("혼자 해요", {"employees": 1}),
        ("10명 미만", {"small_workforce": True}),
        ("10인 이상이에요", {"small_workforce": False}),
        ("김포 양촌읍", {"in_gimpo": True, "sigungu": "김포시", "eupmyeondong": "양촌읍"}),
        ("통진이요", {"in_gimpo": True, "sigungu": "김포시", "eupmyeondong": "통진읍"}),
        ("김포시", {"in_gimpo": True, "sigungu": "김포시"}),
        ("학운산단에 있어요", {"in_gimpo": True, "sigungu": "김포시"}),
        ("인천이에요", {"in_gimpo": False, "sigungu": "인천", "eupmyeondong": None}),
        ("김포 외 지역", {"in_gimpo": False}),
        ("인천에서 김포 양촌으로 옮겼어요", {"in_gimpo": True, "sigungu": "김포시", "eupmyeondong": "양촌읍"}),
        ("금속가공 제조업", {"is_manufacturer": True, "industry": "금속가공"}),
        ("제조업 아님", {"is_manufacturer": False}),
        ("제조업은 아니에요", {"is_manufacturer": False}),
        ("도소매업이에요", {"is_manufacturer": False, "industry": "도소매"}),
        ("작년에 전기차 사업 했어요", {"prior_ev_2021": True}),
        ("작년에 전기차 사업은 안 했어요", {"prior_ev_2021": False}),
        ("중기부 스마트공장 선정됐어요", {"mss_smart_factory_selected": True}),
        ("스마트공장 아직 선정 안 됐어요", {"mss_smart_factory_selected": False}),
        ("컨소시엄 구성했어요", {"consortium": True}),
        ("첨단소재부품", {"representative_industry": "첨단소재부품"}),
        ("전기차 부품 만들어요", {"representative_industry": "전기자동차"}),
        ("중소기업이에요", {"is_sme": True}),
        ("중견기업입니다", {"is_sme": False}),
        # Program names are questions, not facts about the company.
        ("중소기업 인증획득 지원 받을 수 있나요", {}),
        ("전기자동차 부품생산 가능화 지원사업 받을 수 있나요", {}),
        ("구리 가공 업체예요", {}),
        ("설명해 주세요", {}),
    ],
)
def test_free_answers(text: str, expected: dict) -> None:
    assert facts(text) == expected


def test_one_message_carries_every_fact() -> None:
    found = facts("직원 6명 제조업 소공인인데 콤프레샤 교체 지원 받을 수 있나요?")
    assert found == {"is_manufacturer": True, "employees": 6, "is_sme": True}


def test_a_long_self_introduction() -> None:
    found = facts("저희는 김포 대곶면에 있는 금형 제조 중소기업이고 직원은 다섯 명이에요")
    assert found == {
        "in_gimpo": True,
        "sigungu": "김포시",
        "eupmyeondong": "대곶면",
        "is_manufacturer": True,
        "industry": "금형",
        "employees": 5,
        "is_sme": True,
    }


def test_negation_stays_in_its_clause() -> None:
    found = facts("작년에 전기차 사업 했어요, 컨소시엄은 없어요")
    assert found == {"prior_ev_2021": True, "consortium": False}


@pytest.mark.parametrize(
    ("text", "expecting", "expected"),
    [
        ("네", "prior_ev_2021", {"prior_ev_2021": True}),
        ("아니요", "prior_ev_2021", {"prior_ev_2021": False}),
        ("해당 없음", "representative_industry", {"representative_industry": "해당 없음"}),
        ("아뇨", "representative_industry", {"representative_industry": "해당 없음"}),
        ("네", "is_manufacturer", {"is_manufacturer": True}),
        ("네", None, {}),
    ],
)
def test_bare_answers_answer_the_question_asked(text: str, expecting: str | None, expected: dict) -> None:
    assert facts(text, expecting) == expected


def test_dont_know_declines_the_question() -> None:
    found = extract("잘 모르겠어요", load_regions(), load_rules().representative_industries.values, "small_workforce")
    assert found.declined == {"small_workforce"}
    assert not found.values


@pytest.mark.parametrize(
    ("text", "expecting", "expected"),
    [
        ("참여 안 했어요", "prior_ev_2021", {"prior_ev_2021": False}),
        ("없어요", "consortium", {"consortium": False}),
        ("선정됐어요", "mss_smart_factory_selected", {"mss_smart_factory_selected": True}),
        ("플라스틱 사출", "is_manufacturer", {"is_manufacturer": True, "industry": "플라스틱 사출"}),
        ("플라스틱 사출", None, {}),
    ],
)
def test_short_answers_in_context(text: str, expecting: str | None, expected: dict) -> None:
    assert facts(text, expecting) == expected
