"""Stand-ins for a Rasa server: an httpx transport with switchable failures, and a real
loopback socket that accepts requests and never answers (a Rasa stuck in a long GC or a
model reload), so time-outs are exercised for real."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from nlu.types import INTENTS


def parse_answer(text: str, intent: str, confidence: float = 0.9, entities: list[Any] | None = None) -> dict[str, Any]:
    """A /model/parse body shaped like Rasa 3.6's."""
    others = [name for name in INTENTS if name != intent][:3]
    rest = (1.0 - confidence) / len(others)
    ranking = [{"name": intent, "confidence": confidence}, *({"name": n, "confidence": rest} for n in others)]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": ranking,
        "text_tokens": [[0, len(text)]],
    }


@dataclass
class FakeRasa:
    """Answers /model/parse with `intent`, or fails the way `mode` says:
    "ok", "down" (connection refused), "timeout", "error" (HTTP 500), "garbage" (not JSON),
    "unknown" (only an intent the bot does not know, as Rasa's nlu_fallback)."""

    intent: str = "program_schedule"
    mode: str = "ok"
    entities: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append({"path": request.url.path, **body})
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.mode == "error":
            return httpx.Response(500, json={"status": "failure"})
        if self.mode == "garbage":
            return httpx.Response(200, content=b"<html>proxy error</html>")
        if self.mode == "unknown":
            return httpx.Response(200, json=parse_answer(body["text"], "nlu_fallback") | {"intent_ranking": []})
        return httpx.Response(200, json=parse_answer(body["text"], self.intent, entities=self.entities))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A loopback HTTP port that reads each request and never replies; yields its base URL."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
