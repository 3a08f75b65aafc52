"""The Rasa project files and the setup helpers that need no Rasa server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from core.settings import Settings
from nlu import rasa_setup
from nlu.entities import EntityExtractor
from nlu.rasa_backend import masked
from nlu.rasa_setup import (
    CONFIG_FILE,
    DOMAIN_FILE,
    PROJECT_DIR,
    RasaEnv,
    RasaSetupError,
    find_python,
    fingerprint,
    write_training_yaml,
)
from nlu.training_data import Example, load_training_data
from nlu.types import INTENTS

SETTINGS_DATA_DIR = Settings(_env_file=None).nlu_data_dir  # type: ignore[call-arg]


def test_domain_lists_exactly_the_intents_every_backend_knows() -> None:
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    assert domain["intents"] == list(INTENTS)


def test_pipeline_components_ship_beside_the_config() -> None:
    config = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    names = [step["name"] for step in config["pipeline"]]
    assert names == [
        "kiwi_tokenizer.KiwiTokenizer",
        "char_ngram_featurizer.CharNgramFeaturizer",
        "linear_svm_classifier.LinearSvmIntentClassifier",
    ]
    for name in names:
        assert (PROJECT_DIR / f"{name.split('.')[0]}.py").exists()


def _data(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_fingerprint_follows_data_and_pipeline_not_paths(tmp_path: Path) -> None:
    one = _data(tmp_path / "a", "nlu.yml", "x")
    two = _data(tmp_path / "b", "nlu.yml", "x")
    assert fingerprint([one]) == fingerprint([two])
    two.write_text("y", encoding="utf-8")
    assert fingerprint([one]) != fingerprint([two])
    other_config = _data(tmp_path, "config.yml", CONFIG_FILE.read_text(encoding="utf-8") + "\n# tuned\n")
    assert fingerprint([one], other_config) != fingerprint([one])


def test_model_name_changes_when_the_data_changes(tmp_path: Path) -> None:
    env = RasaEnv(tmp_path / "home")
    data = _data(tmp_path, "nlu.yml", 'version: "3.1"\nnlu: []\n')
    before = env.model_path([data])
    data.write_text('version: "3.1"\nnlu: [] # edited\n', encoding="utf-8")
    assert env.model_path([data]) != before
    assert env.model_path([data]).parent == tmp_path / "home" / "models"


def test_training_without_data_is_refused_before_rasa_runs(tmp_path: Path) -> None:
    env = RasaEnv(tmp_path / "home")
    with pytest.raises(RasaSetupError, match="no training data"):
        env.train(tmp_path)


def test_rasa_learns_names_masked_as_the_backend_sends_them(tmp_path: Path) -> None:
    data = load_training_data(SETTINGS_DATA_DIR)
    finder = EntityExtractor(data.entity_dictionary)
    write_training_yaml([Example("인증획득 지원사업 접수 기간", "program_schedule")], tmp_path, finder)
    (example,) = load_training_data(tmp_path).examples
    assert example.text == "xentity 접수 기간"
    assert masked("스마트공장 예산", finder.find("스마트공장 예산")) == "xentity 예산"


def test_a_split_written_for_rasa_reads_back_as_the_same_examples(tmp_path: Path) -> None:
    examples = [
        Example("인증획득 접수기간 언제에요?", "program_schedule"),
        Example('"요금" 예산: 얼마', "program_budget"),
        Example("- 상담원 연결 1", "handoff"),
        Example("안녕하세요", "greeting"),
    ]
    write_training_yaml(examples, tmp_path)
    loaded = load_training_data(tmp_path)
    assert sorted((e.intent, e.text) for e in loaded.examples) == sorted((e.intent, e.text) for e in examples)


def test_an_explicit_python_of_the_wrong_version_is_refused() -> None:
    with pytest.raises(RasaSetupError, match=r"needs 3\.8, 3\.9 or 3\.10"):
        find_python(sys.executable)  # the project's own Python is 3.11+


def test_without_any_supported_python_the_error_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa_setup, "_candidate_pythons", lambda: iter(["/nonexistent/python3.10"]))
    with pytest.raises(RasaSetupError, match="--python or RASA_PYTHON"):
        find_python()


def test_rasa_export_writes_every_example_for_an_outside_rasa(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, ["nlu", "rasa-export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    exported = load_training_data(tmp_path)
    source = load_training_data(SETTINGS_DATA_DIR)
    assert len(exported.examples) == len(source.examples)
    assert {e.intent for e in exported.examples} == set(INTENTS)
    assert any("xentity" in e.text for e in exported.examples)
