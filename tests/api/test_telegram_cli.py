"""`gopa telegram set-webhook` and polling mode, against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.telegram_bot import ALLOWED_UPDATES, TelegramBot
from tests.api.test_telegram_webhook import CHAT_ID, RecordingDialogue, text_update
from tests.fakes.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bot_api() -> Iterator[FakeTelegram]:
    with FakeTelegram() as api:
        yield api


async def run_gopa(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.cli",
        *args,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


def cli_env(api: FakeTelegram, tmp_path: Path, secret: str | None) -> dict[str, str]:
    env = {
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "VAR_DIR": str(tmp_path / "var"),
        "PUBLIC_BASE_URL": "https://gopa.example.kr",
    }
    if secret is not None:
        env["TELEGRAM_WEBHOOK_SECRET"] = secret
    return env


async def test_set_webhook_sends_the_secret_and_allowed_updates(bot_api: FakeTelegram, tmp_path: Path) -> None:
    code, out = await run_gopa(
        "telegram", "set-webhook", env=cli_env(bot_api, tmp_path, "s3cret_token-1"), cwd=tmp_path
    )
    assert code == 0, out
    [call] = bot_api.params_of("setWebhook")
    assert call["url"] == "https://gopa.example.kr/telegram/webhook"
    assert call["secret_token"] == "s3cret_token-1"
    assert call["allowed_updates"] == list(ALLOWED_UPDATES)
    [menu] = bot_api.params_of("setMyCommands")
    assert [c["command"] for c in menu["commands"]] == ["start", "help", "subscribe", "topics", "unsubscribe"]


@pytest.mark.parametrize(
    ("args", "secret"),
    [((), None), ((), "bad secret!"), (("http://plain.example.kr/telegram/webhook",), "ok_secret")],
    ids=["no-secret", "invalid-secret", "not-https"],
)
async def test_set_webhook_refuses_an_open_or_insecure_webhook(
    bot_api: FakeTelegram, tmp_path: Path, args: tuple[str, ...], secret: str | None
) -> None:
    code, _ = await run_gopa("telegram", "set-webhook", *args, env=cli_env(bot_api, tmp_path, secret), cwd=tmp_path)
    assert code == 2
    assert bot_api.params_of("setWebhook") == []


async def wait_for(condition: object, limit: int = 400) -> None:
    for _ in range(limit):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("condition not met")


async def test_polling_deletes_the_webhook_first_and_answers_updates(bot_api: FakeTelegram) -> None:
    dialogue = RecordingDialogue()
    bot = TelegramBot.build(
        token=bot_api.token,
        base_url=bot_api.base_url,
        dialogue=dialogue,
        subscriptions=None,
        topics=(),
        polling=True,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(bot.poll(stop))
    await wait_for(lambda: bot_api.params_of("getUpdates"))
    bot_api.push_update(text_update(77, "폴링으로 물어봐요"))
    await wait_for(lambda: bot_api.sent_to(CHAT_ID))
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    methods = [method for method, _ in bot_api.requests]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    assert "setMyCommands" in methods
    assert [m.text for m in dialogue.seen] == ["폴링으로 물어봐요"]
    assert "폴링으로 물어봐요" in bot_api.sent_to(CHAT_ID)[0]["text"]


async def test_gopa_telegram_poll_answers_from_the_kb_and_stops_on_sigterm(
    bot_api: FakeTelegram, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.cli",
        "telegram",
        "poll",
        env={**os.environ, "PYTHONPATH": str(ROOT), **cli_env(bot_api, tmp_path, None), "RUN_SCHEDULER": "false"},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_for(lambda: bot_api.params_of("getUpdates"), limit=2400)
        bot_api.push_update(text_update(1, "스마트공장 지원 조건이 뭐예요?"))
        await wait_for(lambda: bot_api.sent_to(CHAT_ID), limit=2400)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, out.decode()
    assert "스마트공장 구축 지원사업" in bot_api.sent_to(CHAT_ID)[0]["text"]
    methods = [method for method, _ in bot_api.requests]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
