import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from core.text import normalize_utterance
from nlu.embedded import (
    ENTITY_MARK,
    NGRAM_RANGE,
    EmbeddedNlu,
    char_ngrams,
    load_or_train,
    message_views,
    model_path,
    word_ngrams,
)
from nlu.embedded_training import train_intent_model
from nlu.entities import EntityExtractor
from nlu.training_data import TrainingData
from nlu.types import INTENTS


@pytest.mark.parametrize(
    ("text", "intent", "program"),
    [
        ("시험분석비 지원사업 예산이 얼마예요?", "program_budget", "test_analysis"),
        ("오늘 점심 뭐 먹지", "out_of_scope", None),
        ("콤프래샤 교체 언제 신청함?", "program_schedule", "compressor_replacement"),
        ("스마트팩토리", "program_overview", "smart_factory"),
        ("시험분석비지원사업예산얼마에요", "program_budget", "test_analysis"),
        ("신청기간이언제에여", "program_schedule", None),
        ("상담원 연결해주세요", "handoff", None),
        ("알림 해지", "unsubscribe", None),
        ("지원금 받으면 세금 내야 되나요?", "out_of_scope", None),  # tax is not in the plan, not ratio_payment
    ],
)
async def test_hard_cases(embedded: EmbeddedNlu, text: str, intent: str, program: str | None) -> None:
    result = await embedded.parse(text)
    assert result.intent == intent, result.ranking
    assert result.values("program") == ([program] if program else [])
    assert result.backend == "embedded"
    assert result.ranking[0] == (result.intent, result.confidence)


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "👍", "?!", "\u200b"])
async def test_nothing_to_classify_is_out_of_scope_with_no_confidence(embedded: EmbeddedNlu, text: str) -> None:
    result = await embedded.parse(text)
    assert (result.intent, result.confidence, result.entities) == ("out_of_scope", 0.0, ())


async def test_huge_input_is_cut_and_parsed(embedded: EmbeddedNlu) -> None:
    result = await embedded.parse("스마트공장 예산 얼마에요 " + "ㅋ" * 100_000)
    assert result.intent in {i for i, _ in result.ranking}
    assert len(result.text) <= 1000
    assert result.values("program") == ["smart_factory"]


async def test_normalisation_comes_first(embedded: EmbeddedNlu) -> None:
    plain = await embedded.parse("스마트공장 예산 얼마에요?")
    folded = await embedded.parse("ｽﾏｰﾄ スマート 스마트공장　예산 얼마에요？😀")
    assert folded.values("program") == ["smart_factory"]
    assert folded.intent == plain.intent


def test_compiled_model_computes_what_scikit_learn_computes(training_data: TrainingData) -> None:
    extractor = EntityExtractor(training_data.entity_dictionary)
    fitted = train_intent_model(training_data.examples[::3], extractor)
    for example in training_data.examples[1::5]:
        texts = message_views(example.text, extractor)
        np.testing.assert_allclose(fitted.compiled.proba(texts), fitted.sklearn_proba(texts), atol=1e-9)


@pytest.mark.parametrize(("ours", "theirs"), [(word_ngrams, "char_wb"), (char_ngrams, "char")])
def test_ngrams_are_scikit_learns(training_data: TrainingData, ours: Callable[[str], list[str]], theirs: str) -> None:
    analyzer = TfidfVectorizer(analyzer=theirs, ngram_range=NGRAM_RANGE, lowercase=False).build_analyzer()
    texts = [normalize_utterance(e.text) for e in training_data.examples]
    texts += ["", "a", "ab", "가  나", " 스마트  공장 ", "x" * 7, "§예산얼마"]
    for text in texts:
        assert Counter(ours(text)) == Counter(analyzer(text)), text


def test_serving_does_not_import_scikit_learn(training_data: TrainingData, model_dir: Path) -> None:
    # The model cached by the session fixture is loaded in a fresh interpreter.
    code = (
        "import sys; from pathlib import Path; from core.settings import PACKAGE_ROOT;"
        "from nlu.training_data import load_training_data; from nlu.embedded import load_or_train;"
        f"b = load_or_train(load_training_data(PACKAGE_ROOT / 'nlu' / 'data'), Path({str(model_dir)!r}));"
        "assert not b.trained; assert b.parse_sync('안녕하세요').intent == 'greeting';"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_second_build_loads_the_cached_model(training_data: TrainingData, tmp_path: Path) -> None:
    first = load_or_train(training_data, tmp_path)
    path = model_path(tmp_path, training_data)
    stamp = path.stat().st_mtime_ns
    second = load_or_train(training_data, tmp_path)
    assert (first.trained, second.trained) == (True, False)
    assert path.stat().st_mtime_ns == stamp
    assert second.parse_sync("예산 얼마에요") == first.parse_sync("예산 얼마에요")


def test_changed_data_gets_a_new_model(training_data: TrainingData, tmp_path: Path) -> None:
    changed = TrainingData(
        examples=training_data.examples[:-1],
        synonyms=training_data.synonyms,
        lookups=training_data.lookups,
        fingerprint=training_data.fingerprint + "-changed",
    )
    assert model_path(tmp_path, changed) != model_path(tmp_path, training_data)


def test_a_corrupt_cache_file_is_retrained(training_data: TrainingData, tmp_path: Path) -> None:
    path = model_path(tmp_path, training_data)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a model")
    backend = load_or_train(training_data, tmp_path)
    assert backend.trained
    assert backend.parse_sync("안녕하세요").intent == "greeting"


def test_confidence_is_a_probability(embedded: EmbeddedNlu) -> None:
    result = embedded.parse_sync("지원대상이 누구에요")
    assert 0.0 < result.confidence <= 1.0
    assert sum(score for _, score in result.ranking) <= 1.0 + 1e-9
    assert [score for _, score in result.ranking] == sorted((s for _, s in result.ranking), reverse=True)


# Off-topic questions written for this test only and never used to tune the data (none is
# in nlu/data): the bot must not answer them with a confident in-domain intent. Short
# questions end in words the domain uses too (언제, 얼마, 어디), so some slip through:
# 5 of these 30 did when this test was written; the limit leaves a little room.
UNSEEN_OFF_TOPIC = [
    "주차 위반 과태료 얼마", "손톱 깎는 방법", "수박 고르는 법", "오늘 저녁 약속 있어", "시험 공부 하기 싫다",
    "고등학교 입학 언제", "가족 여행 어디로 갈까", "차 고장났어 어떡해", "핸드폰 액정 수리비", "보일러가 안 돼요",
    "와인 추천해줘", "생일 케이크 주문", "점심시간 몇시부터", "야근 너무 많아", "회사 그만두고 싶다",
    "이웃 소음 때문에 힘들어", "헬스 pt 가격", "요가 학원 어디가 좋아", "자전거 타기 좋은 곳",
    "김포 골드라인 배차간격", "해외 직구 관세", "노래방 가자", "롤 챔피언 추천", "주식 언제 팔아",
    "아들 숙제 도와줘", "영화 예매 어떻게 해", "수영 배우는 법", "자동차 엔진오일 교체 주기", "아침 뭐 먹었어",
    "너 인공지능이야?",
]  # fmt: skip
MAX_CONFIDENT_OFF_TOPIC = 7
CONFIDENCE_THRESHOLD = 0.45  # settings.nlu_confidence_threshold's default


def test_unseen_off_topic_questions_are_not_answered_confidently(
    embedded: EmbeddedNlu, training_data: TrainingData
) -> None:
    known = {normalize_utterance(e.text) for e in training_data.examples}
    assert not known & {normalize_utterance(t) for t in UNSEEN_OFF_TOPIC}
    confident = [
        (text, result.intent, result.confidence)
        for text in UNSEEN_OFF_TOPIC
        if (result := embedded.parse_sync(text)).intent != "out_of_scope" and result.confidence >= CONFIDENCE_THRESHOLD
    ]
    assert len(confident) <= MAX_CONFIDENT_OFF_TOPIC, confident


def test_users_cannot_type_the_entity_mark() -> None:
    # The masked view marks program names with ENTITY_MARK; typed text must never contain it.
    assert ENTITY_MARK not in normalize_utterance(f"스마트{ENTITY_MARK}공장 {ENTITY_MARK * 3}")


def test_any_unicode_parses(embedded: EmbeddedNlu) -> None:
    rng = random.Random(7)
    ranges = [(0, 0x2FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF), (0xD800, 0xDFFF), (0xFF00, 0xFFEF)]
    for _ in range(500):
        text = "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(0, 80)))
        result = embedded.parse_sync(text)
        assert result.intent in INTENTS
        assert 0.0 <= result.confidence <= 1.0
