from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.db import Database
from core.settings import Settings, get_settings
from tests.conftest import SHARED_DIR

pytestmark = pytest.mark.db


@pytest.fixture
def cli_env(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # `db` empties the tables first when the suite runs on PostgreSQL.
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_announce_and_ingest_commands(cli_env: None, tmp_path: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(
        app, ["announce", "create", "--title", "스마트물류 지원", "-t", "스마트물류", "--deadline", "2030-01-31"]
    )
    assert created.exit_code == 0, created.output
    assert "created announcement 1 (draft)" in created.output
    published = runner.invoke(app, ["announce", "publish", "1"])
    assert published.exit_code == 0 and "0 new deliveries" in published.output
    listed = runner.invoke(app, ["announce", "list"])
    assert '"status": "published"' in listed.output and '"ends_at": "2030-01-31T14:59:59+00:00"' in listed.output
    assert runner.invoke(app, ["announce", "publish", "99"]).exit_code == 1

    feed = SHARED_DIR / "data" / "real" / "bizinfo_api_sample_2026-09-23_redacted.json"
    imported = runner.invoke(app, ["ingest", "bizinfo", str(feed)])
    assert imported.exit_code == 0, imported.output
    assert "4 items: 3 new" in imported.output  # the 경북 item is outside the regions
    broken = tmp_path / "broken.json"
    broken.write_text('{"reqErr": "인증키 오류"}', encoding="utf-8")
    failed = runner.invoke(app, ["ingest", "bizinfo", str(broken)])
    assert failed.exit_code == 1 and "인증키 오류" in failed.output
