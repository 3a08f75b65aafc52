"""Separate `gopa ask` / `gopa chat` runs are separate conversations (no silent carry-over)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from api.cli import app
from bot.context import MAX_USER_KEY
from core.settings import Settings, get_settings

pytestmark = pytest.mark.db


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("RUN_SCHEDULER", "false")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(settings.var_dir.parent)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _gopa(runner: CliRunner, args: list[str], stdin: str | None = None) -> str:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


START_CHECK = "우리 회사 지원 가능한 사업 확인하고 싶어요"


def test_two_ask_runs_do_not_share_context(run: CliRunner) -> None:
    first = _gopa(run, ["ask", START_CHECK])
    assert "회사가 어디에 있나요?" in first
    # Read as the answer to "어디에 있나요?" only inside that earlier flow.
    second = _gopa(run, ["ask", "김포시"])
    assert "소재지" not in second and "어떤 업종인가요?" not in second


def test_a_new_chat_does_not_resume_an_old_flow_but_a_named_session_does(run: CliRunner) -> None:
    assert "회사가 어디에 있나요?" in _gopa(run, ["chat"], stdin=START_CHECK + "\n")
    assert "소재지" not in _gopa(run, ["chat"], stdin="김포시\n")
    assert "회사가 어디에 있나요?" in _gopa(run, ["chat", "--session", "desk"], stdin=START_CHECK + "\n")
    resumed = _gopa(run, ["chat", "--session", "desk"], stdin="김포시\n")
    assert "소재지 김포시" in resumed and "어떤 업종인가요?" in resumed


def test_a_session_name_too_long_for_the_state_table_is_refused_with_a_clear_error(run: CliRunner) -> None:
    result = run.invoke(app, ["chat", "--session", "s" * MAX_USER_KEY], input=START_CHECK + "\n")
    assert result.exit_code == 2
    assert "--session" in result.output
