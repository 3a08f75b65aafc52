"""Shared fixtures: isolated settings and a database per test session.

`GOPA_TEST_DATABASE_URL` (an async SQLAlchemy URL) runs the suite against PostgreSQL;
otherwise each test gets its own SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import Database
from core.settings import Settings

SHARED_DIR = Path(os.environ.get("GOPA_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=os.environ.get("GOPA_TEST_DATABASE_URL", ""),
        run_scheduler=False,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()
