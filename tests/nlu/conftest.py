"""One trained embedded backend per test session: training takes seconds, parsing microseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import PACKAGE_ROOT
from nlu.embedded import EmbeddedNlu, load_or_train
from nlu.training_data import TrainingData, load_training_data

DATA_DIR = PACKAGE_ROOT / "nlu" / "data"


@pytest.fixture(scope="session")
def training_data() -> TrainingData:
    return load_training_data(DATA_DIR)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-var")


@pytest.fixture(scope="session")
def embedded(training_data: TrainingData, model_dir: Path) -> EmbeddedNlu:
    return load_or_train(training_data, model_dir)
