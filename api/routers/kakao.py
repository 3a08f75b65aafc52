"""Kakao i Open Builder skill endpoint (POST /kakao/skill): SkillPayload in, SkillResponse 2.0 out.

Served by `KakaoSkillFastPath`, an ASGI layer `api.app` installs outermost (see its docstring).

The body is parsed by hand (not a pydantic model) so the real payload variations pass
(lang ko/kr/null, isFriend absent, clientExtra null/{}/object, object params, test payloads with
only an utterance and a user id) and anything else gets a clear 400 in JSON.
"""

from __future__ import annotations

import hmac
import logging
import traceback
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.context import MAX_USER_KEY
from bot.render import kakao as kakao_render
from bot.reply import Message
from core.privacy import mask_pii
from core.settings import Settings

if TYPE_CHECKING:
    from api.container import Services

log = logging.getLogger(__name__)

SKILL_PATH = "/kakao/skill"
JSON_UTF8_BYTES = b"application/json; charset=utf-8"
SCALARS = (str, int, float, bool)
TRY_AGAIN = "죄송해요, 잠시 문제가 생겼어요. 조금 뒤에 다시 물어봐 주세요."


class PayloadError(ValueError):
    pass


Answer = tuple[int, bytes]  # HTTP status, JSON body


def json_answer(body: Any, status: int = 200) -> Answer:
    return status, orjson.dumps(body)


def error(status: int, message: str) -> Answer:
    return json_answer({"error": message}, status)


def _scalar_extras(raw: Any) -> dict[str, str] | None:
    """clientExtra arrives as null, {} or an object; keep its scalar values as strings."""
    if not isinstance(raw, dict):
        return None
    out = {str(k): str(v) for k, v in raw.items() if isinstance(v, SCALARS)}
    return out or None


def parse_skill_payload(body: bytes) -> Message:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"malformed JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError("the body must be a JSON object (SkillPayload)")
    user_request = payload.get("userRequest")
    if not isinstance(user_request, dict):
        raise PayloadError("userRequest must be an object")
    utterance = user_request.get("utterance")
    if not isinstance(utterance, str):
        raise PayloadError("userRequest.utterance must be a string")
    user = user_request.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_KEY:
        raise PayloadError(f"userRequest.user.id must be a non-empty string of at most {MAX_USER_KEY} characters")
    properties = user.get("properties") if isinstance(user, dict) else None
    profile = _scalar_extras(properties)
    action = payload.get("action")
    extra = _scalar_extras(action.get("clientExtra")) if isinstance(action, dict) else None
    return Message(channel="kakao", user_key=user_id, text=utterance, extra=extra, profile=profile)


def _secret_problem(settings: Settings, headers: dict[bytes, bytes]) -> Answer | None:
    secret = settings.kakao_skill_secret
    if secret is None:
        return None
    given = headers.get(settings.kakao_skill_secret_header.lower().encode("latin-1"))
    if given is None:
        return error(401, f"missing {settings.kakao_skill_secret_header} header")
    if not hmac.compare_digest(given, secret.get_secret_value().encode()):
        return error(403, "wrong skill secret")
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it grows past `limit` (or the client went away)."""
    body = b""
    while True:
        event = await receive()
        if event["type"] != "http.request":
            return None
        body += event.get("body", b"")
        if len(body) > limit:
            return None
        if not event.get("more_body", False):
            return body


async def answer_skill(services: Services, headers: dict[bytes, bytes], receive: Receive) -> Answer:
    """One skill request: secret, size, lenient parse, dialogue turn, SkillResponse 2.0."""
    if services.dialogue is None:
        return error(503, "the dialogue is not configured")
    settings = services.settings
    problem = _secret_problem(settings, headers)
    if problem is not None:
        return problem
    limit = settings.max_body_bytes
    too_large = error(413, f"body larger than {limit} bytes")
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        return too_large
    body = await _read_body(receive, limit)
    if body is None:
        return too_large
    try:
        message = parse_skill_payload(body)
    except PayloadError as exc:
        return error(400, str(exc))
    try:
        reply = await services.dialogue.respond(message)
        return json_answer(kakao_render.render(reply))
    except Exception:
        # Kakao shows nothing for a non-2xx answer: give the user a valid reply instead.
        log.error("kakao skill failed: %s", mask_pii(traceback.format_exc()))
        return json_answer(kakao_render.simple(TRY_AGAIN))


class KakaoSkillFastPath:
    """The outermost ASGI layer; it answers POST /kakao/skill itself and passes the rest on.

    Why not a FastAPI route: measured in-process, the framework stack (session middleware,
    exception middleware, routing, Request/Response objects) cost more per request than the
    dialogue turn itself (about 170 µs against 140 µs), and this is the endpoint the throughput
    and latency targets are about. Nothing on this path needs sessions or FastAPI's validation.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SKILL_PATH:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", JSON_UTF8_BYTES)]
        if scope["method"] == "POST":
            status, body = await answer_skill(scope["app"].state.services, dict(scope["headers"]), receive)
        else:
            (status, body), headers = error(405, "use POST"), [*headers, (b"allow", b"POST")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
