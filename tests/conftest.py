"""Shared fixtures: isolated settings and a database per test session.

`GOPA_TEST_DATABASE_URL` (an async SQLAlchemy URL) runs the suite against PostgreSQL;
otherwise each test gets its own SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from core.db import Base, Database
from core.settings import Settings


def _find_shared_dir() -> Path:
    """`shared/` lies beside the checkout (CI, /work/main) or beside a worktree's parent."""
    if "GOPA_SHARED_DIR" in os.environ:
        return Path(os.environ["GOPA_SHARED_DIR"])
    for parent in Path(__file__).resolve().parents[1:]:
        if (parent / "shared" / "seed").is_dir():
            return parent / "shared"
    return Path(__file__).resolve().parents[2] / "shared"


SHARED_DIR = _find_shared_dir()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=os.environ.get("GOPA_TEST_DATABASE_URL", ""),
        run_scheduler=False,
        _env_file=None,  # type: ignore[call-arg]
    )


_pg_schemas_reset: set[str] = set()


def isolate_postgres(url: str) -> None:
    """Give a test empty tables on a PostgreSQL server that outlives the test run.

    Once per process the schema is dropped (tables of older model versions go with it);
    then before every test all tables are created if missing and truncated.
    """
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            if url not in _pg_schemas_reset:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
                _pg_schemas_reset.add(url)
            Base.metadata.create_all(conn)
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
            names = ", ".join(f'"{name}"' for name in tables)
            if names:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _postgres_isolation(request: pytest.FixtureRequest) -> None:
    """Every `db` test starts from empty tables on PostgreSQL, whether it asks for the `db`
    fixture or builds its own services from `settings` (SQLite gets a new file per test anyway)."""
    if os.environ.get("GOPA_TEST_DATABASE_URL") and request.node.get_closest_marker("db") is not None:
        settings: Settings = request.getfixturevalue("settings")
        isolate_postgres(settings.sync_database_url)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()
