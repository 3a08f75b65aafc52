"""RasaBackend against fake Rasa servers: mapping, per-message fallback, circuit breaker."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from core.clock import FixedClock
from nlu.rasa_backend import CircuitBreaker, RasaBackend
from nlu.types import Entity, NluResult
from tests.fakes.rasa import FakeRasa, silent_server


class RecordingFallback:
    """The embedded backend's place in these tests: answers `help` and counts calls."""

    name = "embedded"

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def parse(self, text: str) -> NluResult:
        self.texts.append(text)
        return NluResult(text=text, intent="help", confidence=0.7, backend=self.name)


class ProgramFinder:
    """Finds one program name, the way nlu.entities.EntityExtractor reports spans."""

    def find(self, normalized: str) -> list[tuple[int, int, Entity]]:
        start = normalized.find("인증획득")
        return [] if start < 0 else [(start, start + 4, Entity("program", "certification", "인증획득"))]


program_matcher = ProgramFinder()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))


def make_backend(
    client: httpx.AsyncClient, clock: FixedClock, fallback: RecordingFallback, failures: int = 3, reset_s: float = 30
) -> RasaBackend:
    return RasaBackend(
        client,
        fallback,
        CircuitBreaker(failures, reset_s, clock),
        base_url="http://rasa.test/",
        timeout_s=0.5,
        entities=program_matcher,
    )


async def test_maps_rasa_answer_and_sends_normalised_text(clock: FixedClock) -> None:
    rasa = FakeRasa(
        intent="program_schedule",
        entities=[
            {"entity": "program", "value": "from-rasa", "start": 0, "end": 4},
            {"entity": "industry", "value": "금속", "text": "금속", "confidence_entity": 0.8},
        ],
    )
    fallback = RecordingFallback()
    async with rasa.client() as client:
        result = await make_backend(client, clock, fallback).parse("  인증획득   지원사업 접수 기간😀 ")

    # Rasa gets the normalised text with program names masked, as it was trained.
    assert rasa.requests == [{"path": "/model/parse", "text": "xentity 지원사업 접수 기간"}]
    assert result.text == "인증획득 지원사업 접수 기간"
    assert result.backend == "rasa"
    assert result.intent == "program_schedule"
    assert result.confidence == pytest.approx(0.9)
    assert result.ranking[0] == ("program_schedule", pytest.approx(0.9))
    assert len(result.ranking) == 4
    # The shared dictionary names the program; Rasa adds only the entity types it lacks.
    assert result.values("program") == ["certification"]
    assert result.values("industry") == ["금속"]
    assert fallback.texts == []


@pytest.mark.parametrize("mode", ["down", "timeout", "error", "garbage", "unknown"])
async def test_each_failure_falls_back_for_that_message(
    mode: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    rasa = FakeRasa(mode=mode)
    fallback = RecordingFallback()
    caplog.set_level(logging.WARNING, logger="nlu.rasa_backend")
    async with rasa.client() as client:
        result = await make_backend(client, clock, fallback).parse("접수 기간")

    assert result.backend == "embedded"
    assert result.intent == "help"
    assert fallback.texts == ["접수 기간"]
    assert any("embedded backend" in record.getMessage() for record in caplog.records)


async def test_a_silent_server_times_out_and_falls_back(clock: FixedClock) -> None:
    fallback = RecordingFallback()
    async with silent_server() as url, httpx.AsyncClient() as client:
        backend = RasaBackend(
            client, fallback, CircuitBreaker(3, 30, clock), base_url=url, timeout_s=0.05, entities=program_matcher
        )
        result = await backend.parse("인증획득 접수 기간")

    assert result.backend == "embedded"
    assert fallback.texts == ["인증획득 접수 기간"]


async def test_empty_text_never_reaches_rasa(clock: FixedClock) -> None:
    rasa = FakeRasa()
    fallback = RecordingFallback()
    async with rasa.client() as client:
        backend = make_backend(client, clock, fallback)
        result = await backend.parse(" 😀 ")
    assert rasa.requests == []
    assert result.backend == "embedded"
    # Nothing to ask is not a Rasa failure.
    assert backend.fell_back == 0


async def test_breaker_opens_after_consecutive_failures_and_recovers(clock: FixedClock) -> None:
    rasa = FakeRasa(mode="down")
    fallback = RecordingFallback()
    async with rasa.client() as client:
        backend = make_backend(client, clock, fallback, failures=3, reset_s=30)
        for _ in range(10):
            assert (await backend.parse("접수 기간")).backend == "embedded"
        # Three attempts opened the circuit; the next seven never touched Rasa.
        assert len(rasa.requests) == 3
        assert len(fallback.texts) == 10

        clock.advance(seconds=29)
        await backend.parse("접수 기간")
        assert len(rasa.requests) == 3

        # After the reset time one trial goes through; it fails, so the circuit opens again.
        clock.advance(seconds=2)
        await backend.parse("접수 기간")
        await backend.parse("접수 기간")
        assert len(rasa.requests) == 4

        # Rasa is back: the next trial succeeds and every message goes to Rasa again.
        rasa.mode = "ok"
        clock.advance(seconds=31)
        results = [await backend.parse("접수 기간") for _ in range(3)]
        assert [r.backend for r in results] == ["rasa", "rasa", "rasa"]
        assert len(rasa.requests) == 7
        assert (backend.answered, backend.fell_back) == (3, 13)


async def test_a_success_resets_the_failure_count(clock: FixedClock) -> None:
    rasa = FakeRasa(mode="down")
    fallback = RecordingFallback()
    async with rasa.client() as client:
        backend = make_backend(client, clock, fallback, failures=3)
        for mode in ["down", "down", "ok", "down", "down", "ok"]:
            rasa.mode = mode
            await backend.parse("접수 기간")
        # Never three failures in a row: every message was offered to Rasa.
        assert len(rasa.requests) == 6


def test_breaker_lets_one_trial_through_while_half_open(clock: FixedClock) -> None:
    breaker = CircuitBreaker(1, 10, clock)
    breaker.record_failure()
    assert breaker.is_open
    assert not breaker.allow()
    clock.advance(seconds=10)
    assert breaker.allow()
    # A second concurrent message does not pile onto a server that may still be dead.
    assert not breaker.allow()
    breaker.record_success()
    assert not breaker.is_open
    assert breaker.allow()
