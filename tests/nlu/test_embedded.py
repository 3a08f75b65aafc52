from pathlib import Path

import numpy as np
import pytest

from core.text import normalize_utterance
from nlu.embedded import EmbeddedNlu, _views, load_or_train, model_path
from nlu.training_data import TrainingData


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


def test_fast_path_agrees_with_scikit_learn(embedded: EmbeddedNlu, training_data: TrainingData) -> None:
    for example in training_data.examples[::7]:
        normalized = normalize_utterance(example.text)
        views = _views(normalized, [(s, e) for s, e, _ in embedded.extractor.find(normalized)])
        np.testing.assert_allclose(embedded.model.proba(views), embedded.model.sklearn_proba(views), atol=1e-9)


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
