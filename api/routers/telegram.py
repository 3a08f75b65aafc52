"""Telegram webhook: authenticate the update, then hand it to the bot's Application."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.body import BodyError, read_json_body
from api.container import Services

router = APIRouter(tags=["telegram"])
log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"ok": False, "detail": detail}, status_code=status)


@router.post("/telegram/webhook", include_in_schema=False)
async def telegram_webhook(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    settings = services.settings
    secret = settings.telegram_webhook_secret
    # Without a configured secret anyone could post updates: the webhook stays closed.
    if secret is None or not secret.get_secret_value():
        return _error(403, "webhook secret not configured")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        return _error(403, "forbidden")
    bot = services.telegram
    if bot is None or not bot.ready:
        return _error(503, "telegram bot not running")
    try:
        data = await read_json_body(request, settings.max_body_bytes)
    except BodyError as exc:
        return _error(exc.status, exc.detail)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _error(400, "not a Telegram update")
    try:
        update = await bot.process(data)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("unreadable Telegram update: %s", exc)
        return _error(400, "not a Telegram update")
    if update is None:
        return _error(400, "not a Telegram update")
    return JSONResponse({"ok": True})
