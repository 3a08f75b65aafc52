import asyncio

import pytest
from typer.testing import CliRunner, Result

from api.cli import app
from core.clock import FixedClock
from core.db import Database
from core.settings import Settings
from desk.service import DeskService
from tests.desk.helpers import START

pytestmark = pytest.mark.db


async def test_staff_create_and_token(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("desk.cli.get_settings", lambda: settings)
    runner = CliRunner()
    created = await _invoke(
        runner, ["staff", "create", "desk9", "--name", "상담 담당", "--password-stdin"], "긴 비밀번호-1234\n"
    )
    assert created.exit_code == 0, created.output
    assert "desk9 (staff)" in created.output
    again = await _invoke(runner, ["staff", "create", "desk9", "--password-stdin"], "긴 비밀번호-1234\n")
    assert again.exit_code == 1 and "이미 있는" in again.output
    issued = await _invoke(runner, ["staff", "token", "desk9", "--label", "노트북"], "")
    token = issued.output.strip()
    assert issued.exit_code == 0 and token.startswith("gopa_")
    desk = DeskService(db, FixedClock(START))
    assert (await desk.staff_for_token(token)).username == "desk9"
    assert (await desk.authenticate("desk9", "긴 비밀번호-1234")) is not None


async def _invoke(runner: CliRunner, args: list[str], stdin: str) -> Result:
    # The CLI runs its own event loop, so it goes to a thread.
    return await asyncio.to_thread(runner.invoke, app, args, input=stdin)
