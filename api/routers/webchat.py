"""The web chat: the page at `/`, its static files, and `POST /webchat/message` (Reply as JSON).

The browser keeps only a signed, HttpOnly cookie holding a random session id; the dialogue
state lives on the server under that id (channel "web").
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.body import BodyError, read_json_body
from api.container import Services
from bot.render.web import render_web
from bot.reply import Message
from core.secrets import session_secret
from core.settings import Settings
from core.text import MAX_UTTERANCE_CHARS
from knowledge_base.schema import PLAN_DOCUMENT

router = APIRouter(tags=["webchat"])

API_ROOT = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=API_ROOT / "templates")
STATIC_DIR = API_ROOT / "static" / "webchat"
ASSETS = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}

COOKIE = "gopa_chat"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
SESSION_ID_BYTES = 18
# Everything the page loads comes from here: no inline script, no CDN.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
# Suggestions the page offers before the first question; the answers come from the dialogue.
STARTERS = (
    ("지원사업 목록", "지원사업 목록"),
    ("스마트공장 지원 조건", "스마트공장 지원 조건이 뭐예요?"),
    ("알림 신청", "알림 신청"),
    ("현장데스크 상담", "현장데스크 상담 신청"),
)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(min_length=1, max_length=MAX_UTTERANCE_CHARS)
    extra: dict[str, str] | None = None


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_secret(settings), salt="gopa-webchat-session")


def _session_id(request: Request, settings: Settings) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(settings).loads(raw, max_age=COOKIE_MAX_AGE_S)
    except BadSignature:
        return None
    return value if isinstance(value, str) and 16 <= len(value) <= 64 else None


def _set_session(response: Response, request: Request, settings: Settings, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        _serializer(settings).dumps(session_id),
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or settings.public_base_url.startswith("https://"),
        path="/",
    )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def chat_page(request: Request) -> HTMLResponse:
    services: Services = request.app.state.services
    telegram = services.telegram
    # Alerts go out by Telegram (or Kakao), not to a browser tab: point at the bot when it runs.
    username = telegram.application.bot.username if telegram is not None and telegram.ready else None
    response = templates.TemplateResponse(
        request,
        "webchat/index.html",
        {
            "source_document": PLAN_DOCUMENT,
            "starters": STARTERS,
            "telegram_url": f"https://t.me/{username}" if username else None,
        },
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@router.get("/webchat/assets/{name}", include_in_schema=False)
async def chat_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        return _error(404, "not found")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.post("/webchat/message")
async def chat_message(request: Request) -> Response:
    """One message from the page; answers with the Reply as JSON (texts, cards, quick_replies)."""
    services: Services = request.app.state.services
    settings = services.settings
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _error(415, "send JSON (Content-Type: application/json)")
    try:
        body: Any = await read_json_body(request, settings.max_body_bytes)
    except BodyError as exc:
        return _error(exc.status, "메시지가 너무 길어요." if exc.status == 413 else "잘못된 JSON이에요.")
    try:
        chat = ChatRequest.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        return _error(422, f"text(1~{MAX_UTTERANCE_CHARS}자)를 보내 주세요. ({problems})")
    if services.dialogue is None:
        return _error(503, "챗봇을 준비하고 있어요. 잠시 후 다시 시도해 주세요.")
    session_id = _session_id(request, settings)
    new_session = session_id is None
    if session_id is None:
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    reply = await services.dialogue.respond(
        Message(channel="web", user_key=session_id, text=chat.text, extra=chat.extra)
    )
    response = JSONResponse(render_web(reply), headers={"Cache-Control": "no-store"})
    if new_session:
        _set_session(response, request, settings, session_id)
    return response
