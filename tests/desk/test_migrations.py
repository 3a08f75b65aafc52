"""`alembic upgrade head` on an empty database gives exactly the tables the models declare."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import api.app  # noqa: F401 - imports every package, so every model is in Base.metadata
from core.db import Base
from core.settings import Settings

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]


def test_upgrade_head_matches_the_models(settings: Settings) -> None:
    url = settings.sync_database_url
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["url"] = url
        command.upgrade(config, "head")
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations differ; run alembic revision --autogenerate: {diff}"
        command.downgrade(config, "base")
        with engine.connect() as conn:
            leftover = MigrationContext.configure(conn).dialect.get_table_names(conn)
        assert set(leftover) <= {"alembic_version"}
    finally:
        engine.dispose()
