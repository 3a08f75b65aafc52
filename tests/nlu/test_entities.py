import pytest

from nlu.entities import EntityExtractor
from nlu.training_data import TrainingData


@pytest.fixture(scope="module")
def extractor(training_data: TrainingData) -> EntityExtractor:
    return EntityExtractor(training_data.entity_dictionary)


def programs(extractor: EntityExtractor, text: str) -> list[str]:
    return [e.value for e in extractor.extract(text) if e.entity == "program"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("시험분석비 지원사업 예산이 얼마예요?", ["test_analysis"]),
        ("시험 분석 비 언제해요", ["test_analysis"]),
        ("인증 획득 지원 대상", ["certification"]),
        ("콤프래샤 교체 언제 신청함?", ["compressor_replacement"]),
        ("에어컴프레서 바꾸고 싶어요", ["compressor_replacement"]),
        ("스마트팩토리", ["smart_factory"]),
        ("스공 몇개사", ["smart_factory"]),
        ("EV 부품 사업", ["ev_parts"]),
        ("전기차 진단컨설팅", ["ev_consulting"]),  # the longer name wins over 전기차
        ("스마트공방 말고 스마트공장", ["mss_projects", "smart_factory"]),
        ("ＧＯＰＡ５００ 가입", ["gopa500"]),  # full-width forms
        ("줌회의실 예약", ["video_conference_room"]),
        ("찾아가는 상담 신청", ["field_desk"]),
        ("스마트ㆍ공장 예산", ["smart_factory"]),  # the middle dots people type between words
        ("지능형 DB·플랫폼", ["data_platform"]),
        ("소공인・복합지원센터", ["sogongin_center"]),
        ("ＥＶ　부품", ["ev_parts"]),  # full-width letters and space
    ],
)
def test_dictionary_names(extractor: EntityExtractor, text: str, expected: list[str]) -> None:
    assert programs(extractor, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("시험븐석비 예산", "test_analysis"),
        ("스마트곤장 예산", "smart_factory"),
        ("콤프레쌰교체", "compressor_replacement"),
        ("인증획듯 사업", "certification"),
        ("소공인복합지원샌터 위치", "sogongin_center"),
    ],
)
def test_typos_are_caught_with_a_lower_score(extractor: EntityExtractor, text: str, expected: str) -> None:
    found = [e for e in extractor.extract(text) if e.entity == "program"]
    assert [e.value for e in found] == [expected]
    assert 0.85 < found[0].score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "오늘 점심 뭐 먹지",
        "스마트",
        "신청 가능한가요",
        "저희는 개인사업자인데 신청 돼요?",
        "다른 사업이랑 중복수혜 되나요",
        "사업",
        "",
        "🙂🙂🙂",
    ],
)
def test_ordinary_words_are_no_program(extractor: EntityExtractor, text: str) -> None:
    assert programs(extractor, text) == []


def test_no_fuzzy_guess_in_any_training_example_without_a_name(
    extractor: EntityExtractor, training_data: TrainingData
) -> None:
    # Fuzzy hits are for typos; over the whole training set they may only land on names
    # that really are there in another spelling.
    allowed = {"alert_channel"}  # 카톡 알림 / 알림 서비스 are 카톡 알람 / 알람서비스 one jamo off
    for example in training_data.examples:
        for entity in extractor.extract(example.text):
            if entity.score < 1.0:
                assert entity.value in allowed, (example.text, entity)


def test_industries(extractor: EntityExtractor) -> None:
    found = {(e.entity, e.value) for e in extractor.extract("전기자동차 산업 기업 몇개예요")}
    assert ("industry", "전기자동차") in found
    assert [e.value for e in extractor.extract("관광레저 매출") if e.entity == "industry"] == ["관광레저"]


def test_entity_text_is_the_words_in_the_message(extractor: EntityExtractor) -> None:
    (entity,) = extractor.extract("혹시 시험 분석 비 예산?")
    assert entity.text == "시험 분석 비"


def test_huge_text_is_handled(extractor: EntityExtractor) -> None:
    text = "가나다 " * 20_000 + "스마트공장"
    assert extractor.extract(text) == ()  # cut at the utterance limit before the name
    assert programs(extractor, "스마트공장 " + "가" * 100_000) == ["smart_factory"]
