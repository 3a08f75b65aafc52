from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from nlu.cli import app
from nlu.service import evaluate, train_on_split
from nlu.training_data import Example, TrainingData
from nlu.types import NluResult

# Measured on the held-out 20 % (see the report of `gopa nlu eval`); set a little below
# what the embedded backend reaches so that a real regression fails.
MIN_HELDOUT_MACRO_F1 = 0.86
MIN_HELDOUT_ACCURACY = 0.86


async def test_heldout_quality(training_data: TrainingData) -> None:
    _, heldout = training_data.split()
    report = await evaluate(train_on_split(training_data), heldout, latency_rounds=1)
    assert report.total == len(heldout)
    assert report.macro_f1 >= MIN_HELDOUT_MACRO_F1, report.weakest()
    assert report.accuracy >= MIN_HELDOUT_ACCURACY


async def test_the_split_model_never_saw_the_heldout_examples(training_data: TrainingData) -> None:
    train, heldout = training_data.split()
    seen = {e.text for e in train}
    assert all(e.text not in seen for e in heldout)


class _Constant:
    """A backend that always answers the same intent: the report must show it as poor."""

    name = "constant"

    def __init__(self, intent: str) -> None:
        self.intent = intent

    async def parse(self, text: str) -> NluResult:
        return NluResult(text=text, intent=self.intent, confidence=1.0, backend=self.name)


async def test_report_counts_right() -> None:
    examples = [Example("a", "greeting"), Example("b", "greeting"), Example("c", "thanks"), Example("d", "help")]
    report = await evaluate(_Constant("greeting"), examples, latency_rounds=1)
    assert report.accuracy == 0.5
    scores = {s.intent: s for s in report.per_intent}
    assert scores["greeting"].precision == 0.5 and scores["greeting"].recall == 1.0
    assert scores["thanks"].f1 == 0.0
    assert abs(report.macro_f1 - (2 / 3) / 3) < 1e-9
    assert sorted(report.confusions) == [("help", "greeting", 1), ("thanks", "greeting", 1)]
    assert report.weakest(1)[0].f1 == 0.0
    assert set(report.latency_ms) == {"p50", "p99", "mean"}


def test_eval_command_prints_the_report() -> None:
    result = CliRunner().invoke(app, ["eval"])
    assert result.exit_code == 0, result.output
    for label in ("accuracy", "macro-F1", "weakest:", "most confused", "parse latency ms: p50"):
        assert label in result.output


def test_eval_command_refuses_an_unknown_backend() -> None:
    result = CliRunner().invoke(app, ["eval", "--backend", "nope"])
    assert result.exit_code != 0


def test_train_command_trains_once_then_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(app, ["train"])
        second = CliRunner().invoke(app, ["train"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "embedded NLU trained" in first.output
    assert "loaded from cache" in second.output
    assert len(list((tmp_path / "nlu").glob("embedded-*.pkl"))) == 1


def test_parse_command_shows_intent_and_entities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NLU_BACKEND", "embedded")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["parse", "콤프래샤 교체 언제 신청함?"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "intent     program_schedule" in result.output
    assert "entity     program=compressor_replacement from '콤프래샤'" in result.output
