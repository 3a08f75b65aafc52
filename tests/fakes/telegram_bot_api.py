"""A local stand-in for the Telegram Bot API, served over real HTTP for python-telegram-bot.

PTB calls POST `{base_url}{token}/{method}` with form fields (objects JSON-encoded); this
server records every call, answers like Telegram does, and can be told to fail a method once
(429 with retry_after, 403, 400, 5xx) to test error handling.
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_ID = 7000001
BOT_USERNAME = "gopa_test_bot"
JSON_FIELDS = {"reply_markup", "allowed_updates", "link_preview_options", "entities", "reply_parameters"}


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeBotApi:
    token: str = "123456:TEST-token"
    calls: list[ApiCall] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str | None = None
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _updates: asyncio.Queue[dict[str, Any]] | None = None
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _message_id: int = 0
    port: int = 0

    @property
    def base_url(self) -> str:
        """What PTB's `base_url` takes: the token is appended to it."""
        return f"http://127.0.0.1:{self.port}/bot"

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        return [
            c.params
            for c in self.calls_to("sendMessage")
            if chat_id is None or str(c.params.get("chat_id")) == str(chat_id)
        ]

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        self._failures.setdefault(method, []).append(_Failure(status, description, retry_after))

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (polling mode)."""
        assert self._updates is not None, "start the server first"
        self._updates.put_nowait(update)

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._updates = asyncio.Queue()
        app = Starlette(routes=[Route("/bot{token}/{method}", self._handle, methods=["POST", "GET"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = None

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.body()
            return dict(json.loads(body)) if body else {}
        form = await request.form()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = value if isinstance(value, str) else ""
            params[key] = json.loads(text) if key in JSON_FIELDS else text
        return params

    async def _handle(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        params = await self._params(request)
        self.calls.append(ApiCall(method, params))
        pending = self._failures.get(method)
        if pending:
            failure = pending.pop(0)
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return JSONResponse(body, status_code=failure.status)
        return JSONResponse({"ok": True, "result": await self._result(method, params)})

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "GOPA", "username": BOT_USERNAME}
        if method == "sendMessage":
            self._message_id += 1
            chat_id = int(params["chat_id"])
            return {
                "message_id": self._message_id,
                "date": 1_700_000_000,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "GOPA"},
                "text": params.get("text", ""),
            }
        if method == "setWebhook":
            self.webhook_url = params.get("url", "")
            self.webhook_secret = params.get("secret_token")
            return True
        if method == "deleteWebhook":
            self.webhook_url = ""
            return True
        if method == "getWebhookInfo":
            return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}
        if method == "getUpdates":
            assert self._updates is not None
            try:
                wait = min(float(params.get("timeout", 0) or 0), 0.5)
                return [await asyncio.wait_for(self._updates.get(), timeout=wait or 0.05)]
            except TimeoutError:
                return []
        # answerCallbackQuery, editMessageReplyMarkup and the like: Telegram answers True.
        return True
