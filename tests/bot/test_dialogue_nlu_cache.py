"""The dialogue's per-text NLU cache keeps only answers of the configured backend."""

from __future__ import annotations

import pytest

from bot.context import MemoryContextStore
from bot.dialogue import Dialogue
from bot.reply import Message
from nlu.rasa_backend import CircuitBreaker, RasaBackend
from tests.fakes.nlu import KeywordNlu
from tests.fakes.rasa import FakeRasa


def rasa_dialogue(rasa: FakeRasa, fixture_kb, clock, settings) -> tuple[Dialogue, RasaBackend]:
    backend = RasaBackend(
        rasa.client(), KeywordNlu(), CircuitBreaker(10, 30, clock), base_url="http://rasa.test", timeout_s=0.5
    )
    store = MemoryContextStore(clock, settings.dialogue_context_ttl_s)
    return Dialogue(fixture_kb, backend, store, clock=clock, settings=settings), backend


async def test_a_fallback_answer_during_a_rasa_outage_is_not_cached(fixture_kb, clock, settings) -> None:
    rasa = FakeRasa(intent="program_budget", mode="down")
    dialogue, backend = rasa_dialogue(rasa, fixture_kb, clock, settings)
    await dialogue.respond(Message("kakao", "u1", "시험분석비 예산"))
    assert backend.fell_back == 1

    rasa.mode = "ok"  # Rasa is back: the same text must reach it
    await dialogue.respond(Message("kakao", "u1", "시험분석비 예산"))
    await dialogue.respond(Message("kakao", "u1", "시험분석비 예산"))
    assert backend.answered == 1  # asked once more, then answered from the cache
    assert len(rasa.requests) == 2
    await backend.aclose()


@pytest.mark.db
async def test_closing_the_services_closes_the_nlu_http_client(settings, clock) -> None:
    from api.container import build_services

    rasa = FakeRasa()
    client = rasa.client()
    backend = RasaBackend(client, KeywordNlu(), CircuitBreaker(3, 30, clock), base_url="http://rasa.test", timeout_s=1)
    services = await build_services(settings, clock, nlu=backend)
    assert not client.is_closed
    await services.close()
    assert client.is_closed
