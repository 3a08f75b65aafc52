"""NLU through a Rasa server's `/model/parse`, with the embedded backend as the safety net.

A Kakao skill must answer within 5 seconds, so Rasa gets a short time-out per message; a
message Rasa cannot answer in time is parsed by the embedded backend instead, and after a
few failures in a row a circuit breaker stops asking Rasa for a while, so a dead server
costs nothing until it is back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from core.clock import Clock, SystemClock
from core.settings import Settings
from core.text import normalize_utterance
from nlu.embedded import EmbeddedNlu
from nlu.types import INTENTS, Entity, NluBackend, NluResult

logger = logging.getLogger(__name__)

# Program and industry names are replaced by this word in every text Rasa sees, in training
# and in parsing: a name says which program is meant, not what is asked, so "예산" next to any
# name teaches the same (the embedded backend masks names the same way for its features).
ENTITY_WORD = "xentity"


class EntityFinder(Protocol):
    """nlu.entities.EntityExtractor: (start, end, entity) spans in a normalised text."""

    def find(self, normalized: str) -> list[tuple[int, int, Entity]]: ...


def masked(normalized: str, spans: Sequence[tuple[int, int, Entity]]) -> str:
    """`normalized` with each entity span replaced by ENTITY_WORD (overlaps keep the first)."""
    parts: list[str] = []
    position = 0
    for start, end, _ in sorted(spans, key=lambda span: span[0]):
        if start < position:
            continue
        parts += [normalized[position:start], f" {ENTITY_WORD} "]
        position = end
    parts.append(normalized[position:])
    return " ".join("".join(parts).split())


def rasa_text(text: str, finder: EntityFinder | None) -> tuple[str, str, list[tuple[int, int, Entity]]]:
    """(normalised text, what Rasa is given, the entity spans found)."""
    normalized = normalize_utterance(text)
    spans = finder.find(normalized) if finder is not None and normalized else []
    return normalized, masked(normalized, spans), spans


class CircuitBreaker:
    """Closed: every call goes through. Open (after `failures` consecutive failures): calls
    are refused until `reset_s` has passed; then one trial call decides whether to close."""

    def __init__(self, failures: int, reset_s: float, clock: Clock) -> None:
        self._threshold = max(1, failures)
        self._reset = timedelta(seconds=reset_s)
        self._clock = clock
        self._failures = 0
        self._opened_at: datetime | None = None
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        if self._opened_at is None:
            return True
        if self._trial_running or self._clock.now() - self._opened_at < self._reset:
            return False
        self._trial_running = True
        return True

    def record_success(self) -> None:
        if self._opened_at is not None:
            logger.info("Rasa answers again; closing the circuit")
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_running or (self._opened_at is None and self._failures >= self._threshold):
            logger.warning("Rasa failed %d time(s) in a row; using the embedded backend for a while", self._failures)
            self._opened_at = self._clock.now()
        self._trial_running = False


class RasaBackend:
    """`NluBackend` asking a Rasa server, falling back to `fallback` message by message."""

    name = "rasa"

    def __init__(
        self,
        client: httpx.AsyncClient,
        fallback: NluBackend,
        breaker: CircuitBreaker,
        *,
        base_url: str,
        timeout_s: float,
        entities: EntityFinder | None = None,
    ) -> None:
        self._client = client
        self._fallback = fallback
        self._breaker = breaker
        self._url = base_url.rstrip("/") + "/model/parse"
        self._timeout = timeout_s
        self._entities = entities
        # How many messages Rasa answered and how many went to the fallback (health, tests).
        self.answered = 0
        self.fell_back = 0

    @property
    def breaker_open(self) -> bool:
        return self._breaker.is_open

    async def aclose(self) -> None:
        await self._client.aclose()

    async def parse(self, text: str) -> NluResult:
        normalized, for_rasa, spans = rasa_text(text, self._entities)
        if not normalized:
            return await self._fallback.parse(text)
        if not self._breaker.allow():
            self.fell_back += 1
            return await self._fallback.parse(text)
        try:
            response = await self._client.post(self._url, json={"text": for_rasa}, timeout=self._timeout)
            response.raise_for_status()
            result = self._to_result(normalized, response.json(), [entity for _, _, entity in spans])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            self._breaker.record_failure()
            logger.warning(
                "Rasa parse failed (%s); this message goes to the %s backend",
                _describe(exc),
                getattr(self._fallback, "name", "fallback"),
            )
            self.fell_back += 1
            return await self._fallback.parse(text)
        self._breaker.record_success()
        self.answered += 1
        return result

    def _to_result(self, normalized: str, payload: dict[str, Any], found: list[Entity]) -> NluResult:
        ranking = tuple(
            (str(item["name"]), float(item["confidence"]))
            for item in payload.get("intent_ranking") or [payload["intent"]]
            if item.get("name") in INTENTS
        )
        if not ranking:
            # A model trained on other intents (or Rasa's nlu_fallback) tells us nothing usable.
            raise ValueError(f"no known intent in Rasa's answer {payload.get('intent')!r}")
        intent, confidence = ranking[0]
        return NluResult(
            text=normalized,
            intent=intent,
            confidence=confidence,
            entities=self._merge_entities(found, payload.get("entities") or []),
            ranking=ranking,
            backend=self.name,
        )

    @staticmethod
    def _merge_entities(found: list[Entity], from_rasa: list[dict[str, Any]]) -> tuple[Entity, ...]:
        """The shared dictionary matcher's entities first (so both backends name programs
        alike), then any entity type it did not find that Rasa extracted."""
        entities = list(found)
        known = {e.entity for e in entities}
        for item in from_rasa:
            kind = str(item.get("entity", ""))
            if kind and kind not in known and item.get("value") is not None:
                entities.append(
                    Entity(
                        entity=kind,
                        value=str(item["value"]),
                        text=str(item.get("text") or item["value"]),
                        score=float(item.get("confidence_entity", 1.0) or 1.0),
                    )
                )
        return tuple(entities)


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "time-out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def build_rasa_backend(settings: Settings, embedded: EmbeddedNlu, clock: Clock | None = None) -> RasaBackend:
    """The Rasa backend the settings describe, over its own HTTP client (closed by `aclose`),
    with `embedded` as fallback and as the entity matcher, so both backends name programs alike."""
    return RasaBackend(
        httpx.AsyncClient(),
        embedded,
        CircuitBreaker(settings.rasa_breaker_failures, settings.rasa_breaker_reset_s, clock or SystemClock()),
        base_url=settings.rasa_url,
        timeout_s=settings.rasa_timeout_s,
        entities=embedded.extractor,
    )
