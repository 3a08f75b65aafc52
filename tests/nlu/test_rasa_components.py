"""The custom Rasa components of nlu/rasa/ (featurizer, classifier), trained, stored and
reloaded through Rasa's own component API in Rasa's environment (tests/nlu/rasa_components_check.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from nlu.rasa_setup import RasaEnv, rasa_home

pytestmark = pytest.mark.rasa

CHECK = Path(__file__).with_name("rasa_components_check.py")


@pytest.fixture(scope="module")
def checked() -> dict[str, Any]:
    env = RasaEnv(rasa_home(Settings(_env_file=None).rasa_home))  # type: ignore[call-arg]
    if not env.rasa.exists():
        pytest.fail(f"no Rasa environment in {env.venv}: run `gopa nlu rasa-setup` (scripts/test does)")
    done = subprocess.run(
        [str(env.python), str(CHECK)], env=env.process_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_questions_get_their_intent_with_a_sorted_ranking(checked: dict[str, Any]) -> None:
    intents = [parsed["intent"]["name"] for parsed in checked["fresh"]]
    assert intents == ["program_budget", "program_schedule", "greeting", "program_budget"]
    for parsed in checked["fresh"]:
        confidences = [item["confidence"] for item in parsed["ranking"]]
        assert confidences == sorted(confidences, reverse=True)
        assert sum(confidences) == pytest.approx(1.0)
        assert parsed["intent"] == parsed["ranking"][0]


def test_a_stored_model_parses_exactly_as_the_trained_one(checked: dict[str, Any]) -> None:
    assert checked["reloaded"] == checked["fresh"]
    # Plain JSON and numpy arrays: nothing pickled in the model.
    assert checked["stored_files"] == ["char_ngram_featurizer.json", "linear_svm.npz", "linear_svm_labels.json"]


def test_confidences_are_calibrated_not_the_raw_margins(checked: dict[str, Any]) -> None:
    # Right 3 times in 4 at the same margin: a calibrated confidence is 0.75, not ~1.
    assert checked["calibrated_confidence"] == pytest.approx(0.75, abs=0.01)


def test_spacing_changes_few_features(checked: dict[str, Any]) -> None:
    # "시험분석비 지원사업 예산" and "시험분석비지원사업예산": the compact view is the same text.
    assert checked["features_shared_by_spacings"] >= checked["features_of_spaced"] / 2
