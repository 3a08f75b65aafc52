"""Reading request bodies with a size cap, for routers that parse JSON themselves."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request


class BodyError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def read_json_body(request: Request, limit: int) -> Any:
    """The parsed JSON body; BodyError 413 past `limit` bytes (stops reading there), 400 if not JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, "request body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyError(413, "request body too large")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(400, "malformed JSON") from exc
