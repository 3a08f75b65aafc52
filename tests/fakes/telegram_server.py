"""A local stand-in for the Telegram Bot API, served over real HTTP on 127.0.0.1 (port 0).

python-telegram-bot's `Bot(token, base_url=server.base_url)` talks to it exactly as to
Telegram: POST /bot{token}/{method}. It answers getMe, sendMessage, setWebhook,
deleteWebhook, getWebhookInfo, answerCallbackQuery, editMessageReplyMarkup, setMyCommands and getUpdates
(updates queued with `push_update`), and can be told to answer 429 (retry_after), 403
(blocked), 400 (chat not found), 5xx, or to stall. Every call is logged in order in
`requests` with its parameters (JSON-encoded ones such as reply_markup decoded).
A message counts as delivered only when it is answered with ok, so a stalled request
whose client died was never delivered (as Telegram would not have).
Run it in a thread (`with FakeTelegram() as tg:`) or as a process (`python -m tests.fakes.telegram_server`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from collections import Counter
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "123456:TEST-token"
# Parameters PTB sends JSON-encoded inside its form body.
JSON_PARAMS = frozenset(
    {"reply_markup", "allowed_updates", "entities", "link_preview_options", "reply_parameters", "commands"}
)


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.delivered_at: list[float] = []
        self.per_chat: Counter[str] = Counter()
        self.blocked: set[str] = set()
        self.deactivated: set[str] = set()
        self.missing: set[str] = set()
        self.server_errors: Counter[str] = Counter()  # chat id -> how many 502 answers to give
        self.rate_limit_next = 0  # how many next sendMessage calls get 429
        self.retry_after = 3
        self.stall_after: int | None = None  # stall every sendMessage once this many were delivered
        self.stalled = 0
        self._release = threading.Event()
        self.webhook: dict[str, Any] | None = None
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._updates: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self.port = 0

    # --- control -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def release_stalled(self) -> None:
        """Stalled requests end with an error and are not delivered; later ones go through."""
        self.stall_after = None
        self._release.set()

    def count(self, chat_id: str | int) -> int:
        return self.per_chat[str(chat_id)]

    def wait_for_messages(self, total: int, timeout: float) -> bool:
        """Block (call it through `asyncio.to_thread`) until `total` messages were delivered."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.messages) >= total, timeout=timeout)

    def sent_to(self, chat_id: str | int) -> list[dict[str, Any]]:
        """Messages delivered to one chat, in order (text, parse_mode, reply_markup)."""
        return [m for m in self.messages if m["chat_id"] == str(chat_id)]

    def params_of(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to `method`, in order."""
        return [params for name, params in self.requests if name == method]

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for the next getUpdates (polling mode)."""
        with self._lock:
            self._updates.append(update)

    # --- HTTP --------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self.handle, methods=["POST", "GET"])])

    async def handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != self.token:
            return self._error(401, "Unauthorized")
        params = await self._params(request)
        self.calls[method] += 1
        with self._lock:
            self.requests.append((method, params))
        if method == "getMe":
            return self._ok({"id": 42, "is_bot": True, "first_name": "gopa", "username": "gopa_test_bot"})
        if method == "setWebhook":
            self.webhook = params
            return self._ok(True)
        if method == "deleteWebhook":
            self.webhook = None
            return self._ok(True)
        if method == "getWebhookInfo":
            url = (self.webhook or {}).get("url", "")
            return self._ok({"url": url, "has_custom_certificate": False, "pending_update_count": 0})
        if method in ("answerCallbackQuery", "editMessageReplyMarkup", "setMyCommands"):
            return self._ok(True)
        if method == "getUpdates":
            return self._ok(await self._get_updates(params))
        if method == "sendMessage":
            return await self._send_message(params)
        return self._error(404, "Not Found: method not found")

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        # Long polling, shortened: waits at most half a second for a queued update.
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 0.5)
        while True:
            with self._lock:
                if self._updates:
                    return [self._updates.pop(0)]
            if time.monotonic() >= deadline:
                return []
            await asyncio.sleep(0.02)

    async def _send_message(self, params: dict[str, Any]) -> JSONResponse:
        chat = str(params.get("chat_id", ""))
        text = str(params.get("text", ""))
        if self.stall_after is not None and len(self.messages) >= self.stall_after:
            self.stalled += 1
            await asyncio.to_thread(self._release.wait)
            return self._error(502, "Bad Gateway")
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                },
                status_code=429,
            )
        if chat in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if chat in self.deactivated:
            return self._error(403, "Forbidden: user is deactivated")
        if chat in self.missing:
            return self._error(400, "Bad Request: chat not found")
        if self.server_errors[chat] > 0:
            self.server_errors[chat] -= 1
            return self._error(502, "Bad Gateway")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")
        with self._lock:
            self.messages.append(
                {
                    "chat_id": chat,
                    "text": text,
                    "parse_mode": params.get("parse_mode"),
                    "reply_markup": params.get("reply_markup"),
                }
            )
            self.delivered_at.append(time.monotonic())
            self.per_chat[chat] += 1
            message_id = len(self.messages)
            self._lock.notify_all()
        return self._ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
                "text": text,
            }
        )

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.body()
            return json.loads(body) if body else {}
        form = await request.form()
        return {
            key: json.loads(value) if key in JSON_PARAMS and isinstance(value, str) else value
            for key, value in form.items()
        }

    @staticmethod
    def _ok(result: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str) -> JSONResponse:
        return JSONResponse({"ok": False, "error_code": code, "description": description}, status_code=code)

    # --- running -------------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Telegram server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def main() -> None:
    """Serve in the foreground (the benchmark runs it as its own process): prints the port."""
    fake = FakeTelegram()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    app = fake.app()

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(
            {
                "delivered": len(fake.messages),
                "chats": len(fake.per_chat),
                "max_per_chat": max(fake.per_chat.values(), default=0),
                "first": fake.delivered_at[0] if fake.delivered_at else None,
                "last": fake.delivered_at[-1] if fake.delivered_at else None,
            }
        )

    app.router.routes.append(Route("/stats", stats))
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
