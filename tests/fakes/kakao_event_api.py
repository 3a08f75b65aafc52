"""A local stand-in for Kakao's Event API (POST /v2/bots/{botId}/talk), as an ASGI app.

Tests hand it to the channel through `httpx.ASGITransport`, so the real httpx client code
runs. It checks the `KakaoAK` key and the 100-user limit and answers a taskId."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeKakaoEventApi:
    def __init__(self, bot_id: str = "bot-1", rest_api_key: str = "kakao-rest-key") -> None:
        self.bot_id = bot_id
        self.rest_api_key = rest_api_key
        self.calls: list[dict[str, Any]] = []
        self.fail_next = 0  # answer 500 this many times

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/bots/{bot_id}/talk", self.talk, methods=["POST"])])

    def users(self) -> list[str]:
        return [user["id"] for call in self.calls for user in call["user"]]

    async def talk(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"KakaoAK {self.rest_api_key}":
            return JSONResponse({"code": -401, "msg": "unauthorized"}, status_code=401)
        if request.path_params["bot_id"] != self.bot_id:
            return JSONResponse({"code": -404, "msg": "no such bot"}, status_code=404)
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"code": -500, "msg": "internal"}, status_code=500)
        body = await request.json()
        users = body.get("user") or []
        if not 1 <= len(users) <= 100 or len({u["id"] for u in users}) != len(users):
            return JSONResponse({"code": -400, "msg": "1 to 100 distinct users"}, status_code=400)
        if not body.get("event", {}).get("name"):
            return JSONResponse({"code": -400, "msg": "event name required"}, status_code=400)
        task_id = str(uuid.uuid4())
        self.calls.append({**body, "taskId": task_id})
        return JSONResponse({"taskId": task_id, "status": "SUCCESS"})
