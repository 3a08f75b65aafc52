"""The question-answer suite (the cases of tests/api/test_kakao_qa.py) through POST /kakao/skill
with the Rasa backend: every answer parsed by the provisioned Rasa server, and a run in which
Rasa is stopped half-way and no answer is lost."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.container import build_services
from core.settings import Settings
from nlu.rasa_backend import RasaBackend, build_rasa_backend
from nlu.rasa_setup import RasaEnv, rasa_home, running_server, train_for
from nlu.service import build_embedded
from nlu.training_data import load_training_data
from tests.api.test_kakao_qa import CASES, ask, visible_text
from tests.nlu.rasa_support import require_rasa_url

pytestmark = [pytest.mark.rasa, pytest.mark.db]


def rasa_settings(var_dir: Path, rasa_url: str, timeout_s: float) -> Settings:
    return Settings(
        var_dir=var_dir,
        database_url=os.environ.get("GOPA_TEST_DATABASE_URL", ""),
        run_scheduler=False,
        nlu_backend="rasa",
        rasa_url=rasa_url,
        rasa_timeout_s=timeout_s,
        _env_file=None,  # type: ignore[call-arg]
    )


@asynccontextmanager
async def skill_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, RasaBackend]]:
    """The app with a Rasa backend we can watch (how many messages Rasa answered)."""
    backend = build_rasa_backend(settings, build_embedded(settings))
    services = await build_services(settings, nlu=backend)
    app = create_app(settings, services)
    try:
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://qa") as http,
        ):
            yield http, backend
    finally:
        await services.close()
        await backend.aclose()


async def answer(client: httpx.AsyncClient, user: str, case: dict[str, Any]) -> str:
    for earlier in case.get("before", []):
        await ask(client, user, earlier)
    return visible_text(await ask(client, user, case["q"]))


def problem(case: dict[str, Any], text: str) -> str | None:
    missing = [fact for fact in case.get("has", []) if fact not in text]
    unwanted = [fact for fact in case.get("not", []) if fact in text]
    return f"{case['q']!r}: missing {missing}, unwanted {unwanted}" if missing or unwanted else None


async def test_the_suite_through_rasa(tmp_path: Path) -> None:
    # A generous time-out: this suite checks what Rasa understands, not how fast a loaded CI box is.
    settings = rasa_settings(tmp_path / "var", require_rasa_url(), timeout_s=10.0)
    misses = []
    async with skill_client(settings) as (client, backend):
        for index, case in enumerate(CASES):
            fell_back = backend.fell_back
            found = problem(case, await answer(client, f"rasa-{index}", case))
            assert backend.fell_back == fell_back, f"{case['q']!r}: Rasa failed, the embedded fallback answered"
            if found:
                misses.append(found)
    # Quick replies such as 더보기 and emoji-only messages need no NLU; everything else was Rasa's.
    assert backend.answered >= len(CASES) - 10
    assert misses == [], "\n".join(misses)


@pytest.mark.slow
async def test_stopping_rasa_mid_run_costs_no_answer(tmp_path: Path, settings: Settings) -> None:
    env = RasaEnv(rasa_home(settings.rasa_home))
    # Provisioning trained this model: it comes from the cache.
    model, _ = train_for(env, load_training_data(settings.nlu_data_dir))
    # Cases the embedded backend is known to miss (nlu_miss) say nothing about the fallback.
    cases = [c for c in CASES if "nlu_miss" not in c]
    half = len(cases) // 2
    with running_server(env, model) as rasa:
        async with skill_client(rasa_settings(tmp_path / "var", rasa.url, timeout_s=0.8)) as (client, backend):
            misses = [problem(case, await answer(client, f"stop-{i}", case)) for i, case in enumerate(cases[:half])]
            assert backend.answered > 0
            assert [m for m in misses if m] == []

            rasa.stop()
            answered = backend.answered
            after_stop = [problem(c, await answer(client, f"stop-{i}", c)) for i, c in enumerate(cases[half:], half)]
            # Every answer after the stop is as right as the embedded backend makes it.
            assert [m for m in after_stop if m] == []

    assert backend.answered == answered
    # The breaker opened after a few failures: later messages did not even try Rasa.
    assert backend.breaker_open
    assert backend.fell_back > 0
