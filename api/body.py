"""Request body size caps: an ASGI layer for every route, and a capped JSON reader for routers."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"요청 본문이 너무 큽니다 (최대 {limit}바이트)")


def too_large_response(exc: BodyTooLarge) -> JSONResponse:
    # `detail` is the API's Problem shape; the web chat page shows `error`.
    return JSONResponse({"detail": exc.detail, "error": exc.detail}, status_code=exc.status_code)


async def body_too_large_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return too_large_response(exc)


class BodyLimit:
    """Caps every request body at `limit` bytes, declared or streamed (chunked).

    A declared Content-Length over the cap is answered with 413 before the app runs; a streamed
    body is counted as the app receives it and cut with BodyTooLarge (413 through
    `body_too_large_handler`) once it passes the cap, so nothing reads more than `limit` bytes.
    The Kakao skill fast path sits outside this layer and applies the same cap itself.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await too_large_response(BodyTooLarge(self.limit))(scope, receive, send)
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return event

        await self.app(scope, capped_receive, send)
