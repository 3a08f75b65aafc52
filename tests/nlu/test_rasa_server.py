"""Against the real Rasa server (RASA_URL, started by scripts/provision/rasa.sh)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from nlu.rasa_setup import free_port
from nlu.service import build_backend, build_embedded
from tests.nlu.rasa_support import require_rasa_url

pytestmark = pytest.mark.rasa


async def test_rasa_serves_a_model_trained_on_the_project_data() -> None:
    url = require_rasa_url()
    async with httpx.AsyncClient() as client:
        status = (await client.get(f"{url}/status")).json()
        assert status["model_file"].startswith("nlu-")
        version = (await client.get(f"{url}/version")).json()
        assert version["version"] == "3.6.21"


async def test_the_configured_backend_parses_through_rasa(settings: Settings) -> None:
    settings = settings.model_copy(update={"nlu_backend": "rasa", "rasa_url": require_rasa_url()})
    backend = build_backend(settings)
    try:
        result = await backend.parse("인증획득 지원사업 접수 기간")
    finally:
        await backend.aclose()  # type: ignore[attr-defined]
    assert result.backend == "rasa"
    assert result.intent == "program_schedule"
    assert result.values("program") == ["certification"]


@pytest.mark.parametrize(
    "text",
    [
        "시험분석비 지원사업 예산이 얼마예요?",
        "스마트팩토리 지원 대상",
        "콤프레샤 에너지 절감 사업 신청은 어떻게 해요",
        "전기자동차 부품 기업 지원",
        "오늘 점심 뭐 먹지",
    ],
)
async def test_both_backends_name_the_same_programs(settings: Settings, text: str) -> None:
    settings = settings.model_copy(update={"nlu_backend": "rasa", "rasa_url": require_rasa_url()})
    embedded = build_embedded(settings)
    rasa = build_backend(settings)
    try:
        through_rasa = await rasa.parse(text)
    finally:
        await rasa.aclose()  # type: ignore[attr-defined]
    assert through_rasa.backend == "rasa"
    assert through_rasa.values("program") == (await embedded.parse(text)).values("program")


async def _connects(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


@pytest.mark.slow
async def test_rasa_serve_says_ready_when_the_first_question_goes_through_rasa(settings: Settings) -> None:
    """A new user runs `gopa nlu rasa-serve`, waits for "ready", asks: Rasa answers that very first
    question within the bot's time-out (its slow first parse is done before "ready"). Stopping
    `rasa-serve` stops Rasa too."""
    port = free_port()
    serve = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("gopa")),
        "nlu",
        "rasa-serve",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert serve.stdout is not None
    seen: list[str] = []
    try:
        while not any("Rasa ready" in line for line in seen):
            line = (await asyncio.wait_for(serve.stdout.readline(), timeout=300)).decode(errors="replace")
            assert line, "rasa-serve ended before it was ready:\n" + "".join(seen[-40:])
            seen.append(line)
        backend = build_backend(
            settings.model_copy(update={"nlu_backend": "rasa", "rasa_url": f"http://127.0.0.1:{port}"})
        )
        try:
            first = await backend.parse("인증획득 지원사업 접수 기간")
        finally:
            await backend.aclose()  # type: ignore[attr-defined]
        assert first.backend == "rasa"
        assert first.intent == "program_schedule"
    finally:
        if serve.returncode is None:
            serve.send_signal(signal.SIGTERM)
        await serve.wait()
    # The Rasa child went with its parent (SIGTERM is not even caught by rasa-serve).
    for _ in range(120):
        if not await _connects(port):
            break
        await asyncio.sleep(0.5)
    assert not await _connects(port)
