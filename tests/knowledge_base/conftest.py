from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge_base.loader import DEFAULT_DATA_DIR, load_knowledge_base
from knowledge_base.store import KnowledgeBase
from tests.conftest import SHARED_DIR

SEED_PLAN = SHARED_DIR / "seed" / "gopa_2022_plan.txt"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_PLAN.read_text(encoding="utf-8")


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged YAML to break on purpose."""
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target
