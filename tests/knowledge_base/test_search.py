from __future__ import annotations

import pytest

from knowledge_base.schema import INDUSTRIES
from knowledge_base.search import ProgramSearch


@pytest.fixture(scope="module")
def search(kb):
    return ProgramSearch(kb)


def test_by_id_children_and_parent(search):
    assert search.get("test_analysis").short_name == "시험분석비 지원"
    assert search.get("nope") is None
    compressor = search.get("compressor_replacement")
    assert search.parent(compressor).id == "facility_modernization"
    assert len(search.children("ev_parts")) == 4


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("시험분석비", "test_analysis"),
        ("스마트 공장", "smart_factory"),
        ("스마트공장", "smart_factory"),
        ("콤프레샤 교체", "compressor_replacement"),
        ("소공인복합지원센터", "sogongin_center"),
        ("화상회의실", "video_conference_room"),
        ("기업지원사업알리미", "alert_channel"),
        ("GOPA 500", "gopa500"),
        ("지능형 DB 플랫폼", "data_platform"),
    ],
)
def test_text_search_ranks_the_2022_program_first(search, query, first):
    assert search.search(query)[0].program.id == first


def test_text_search_nothing(search):
    assert search.search("오늘 점심 메뉴") == []
    assert search.search("   ") == []


def test_by_industry_and_topic(search):
    ev = {p.id for p in search.by_industry("전기자동차")}
    assert {"ev_parts", "innovation_5_industries"} <= ev
    assert all(p.kind in ("support_program", "sub_program") for p in search.by_industry("전기자동차"))
    for industry in INDUSTRIES:
        assert "innovation_5_industries" in {p.id for p in search.by_industry(industry)}
    assert {p.id for p in search.by_topic("인증")} == {"certification", "result_2021_certification"}
    assert "compressor_replacement" in {p.id for p in search.by_topic("소공인", applicable_only=True)}


def test_applicable_excludes_results_and_management(search):
    ids = {p.id for p in search.applicable()}
    assert "test_analysis" in ids and "compressor_replacement" in ids
    assert not any(i.startswith("result_2021") for i in ids)
    assert "esg" not in ids
    assert {p.id for p in search.by_kind("result_2021", year=2021)} >= {"result_2021_sns"}
