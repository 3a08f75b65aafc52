"""Kakao i Open Builder skill endpoint: SkillPayload in, SkillResponse 2.0 out.

The body is parsed by hand (not a pydantic model) so the real payload variations pass
(lang ko/kr/null, isFriend absent, clientExtra null/{}/object, object params, test payloads with
only an utterance and a user id) and anything else gets a clear 400 in JSON.
"""

from __future__ import annotations

import hmac
import logging
import traceback
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.render import kakao as kakao_render
from bot.reply import Message
from core.privacy import mask_pii

router = APIRouter()
log = logging.getLogger(__name__)

JSON_UTF8 = "application/json; charset=utf-8"
MAX_USER_KEY = 128
SCALARS = (str, int, float, bool)
TRY_AGAIN = "죄송해요, 잠시 문제가 생겼어요. 조금 뒤에 다시 물어봐 주세요."


class PayloadError(ValueError):
    pass


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_UTF8)


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


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
        raise PayloadError("userRequest.user.id must be a non-empty string")
    properties = user.get("properties") if isinstance(user, dict) else None
    profile = _scalar_extras(properties)
    action = payload.get("action")
    extra = _scalar_extras(action.get("clientExtra")) if isinstance(action, dict) else None
    return Message(channel="kakao", user_key=user_id, text=utterance, extra=extra, profile=profile)


def _secret_problem(request: Request) -> Response | None:
    settings = request.app.state.services.settings
    secret = settings.kakao_skill_secret
    if secret is None:
        return None
    given = request.headers.get(settings.kakao_skill_secret_header)
    if given is None:
        return error(401, f"missing {settings.kakao_skill_secret_header} header")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        return error(403, "wrong skill secret")
    return None


async def kakao_skill(request: Request) -> Response:
    """POST /kakao/skill. A plain Starlette route: nothing for FastAPI to validate or inject,
    which saves a good part of the per-request cost on the hottest path."""
    services = request.app.state.services
    if services.dialogue is None:
        return error(503, "the dialogue is not configured")
    problem = _secret_problem(request)
    if problem is not None:
        return problem
    limit = services.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return error(413, f"body larger than {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return error(413, f"body larger than {limit} bytes")
    try:
        message = parse_skill_payload(body)
    except PayloadError as exc:
        return error(400, str(exc))
    try:
        reply = await services.dialogue.respond(message)
        return json_response(kakao_render.render(reply))
    except Exception:
        # Kakao shows nothing for a non-2xx answer: give the user a valid reply instead.
        log.error("kakao skill failed: %s", mask_pii(traceback.format_exc()))
        return json_response(kakao_render.simple(TRY_AGAIN))


router.add_route("/kakao/skill", kakao_skill, methods=["POST"], include_in_schema=False)
