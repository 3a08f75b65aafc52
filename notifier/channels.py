"""The four delivery channels behind one interface.

A channel sends one `Content` to a list of addresses (one address, or up to `max_batch` for
Kakao's Event API) and reports one `SendResult` per call: the worker turns it into the
delivery rows' outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import warnings
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Literal, Protocol

import httpx
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from core.clock import Clock
from core.privacy import redact_in_logs
from core.settings import Settings
from notifier.render import Content, kakao_text, plain_text, split_telegram_html, telegram_html
from notifier.telegram_request import AiohttpRequest

Outcome = Literal["sent", "transient", "permanent_message", "permanent_recipient", "rate_limited"]


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    detail: str = ""
    external_id: str | None = None
    retry_after_s: float = 0.0


class Channel(Protocol):
    name: str
    max_batch: int

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, addresses: list[str], content: Content) -> SendResult: ...


# --- Telegram ------------------------------------------------------------------------------

_PERMANENT_CHAT_ERRORS = ("chat not found", "user is deactivated", "bot was blocked", "bot was kicked")


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form will become a timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    """python-telegram-bot's `Bot`; the base URL is configurable so tests use a local fake."""

    name = "telegram"
    max_batch = 1

    def __init__(self, token: str, base_url: str, pool_size: int = 32) -> None:
        # The token is part of every Bot API URL: PTB's `telegram.Bot` logger prints its base
        # URLs and HTTP clients log request URLs (httpx at INFO). A filter on the parent
        # `telegram` logger would not see records created by its children: name each emitter.
        redact_in_logs(token, "<telegram-bot-token>", ("telegram.Bot", "httpx", "aiohttp.client"))
        request = AiohttpRequest(connection_pool_size=pool_size)
        self.bot = Bot(token, base_url=base_url, request=request)

    async def start(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()

    async def send(self, addresses: list[str], content: Content) -> SendResult:
        (chat_id,) = addresses
        last_id = None
        try:
            for piece in split_telegram_html(telegram_html(content)):
                sent = await self.bot.send_message(
                    chat_id=chat_id, text=piece, parse_mode=ParseMode.HTML, disable_web_page_preview=True
                )
                last_id = str(sent.message_id)
        except RetryAfter as exc:
            return SendResult("rate_limited", str(exc), retry_after_s=_retry_seconds(exc))
        except Forbidden as exc:
            return SendResult("permanent_recipient", f"텔레그램 403: {exc.message}")
        except BadRequest as exc:
            if any(marker in exc.message.lower() for marker in _PERMANENT_CHAT_ERRORS):
                return SendResult("permanent_recipient", f"텔레그램 400: {exc.message}")
            return SendResult("permanent_message", f"텔레그램 400: {exc.message}")
        except (NetworkError, TelegramError) as exc:
            return SendResult("transient", f"텔레그램: {exc}")
        return SendResult("sent", external_id=last_id)


# --- Kakao Event API ---------------------------------------------------------------------------

KAKAO_MAX_USERS = 100
KAKAO_EVENT_NAME = "gopa_notice"


class KakaoEventChannel:
    """POST /v2/bots/{botId}/talk: ≤ 100 users a call; the taskId only means 'accepted'."""

    name = "kakao"
    max_batch = KAKAO_MAX_USERS

    def __init__(self, client: httpx.AsyncClient, base_url: str, bot_id: str, rest_api_key: str) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/v2/bots/{bot_id}/talk"
        self.headers = {"Authorization": f"KakaoAK {rest_api_key}", "Content-Type": "application/json"}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, addresses: list[str], content: Content) -> SendResult:
        if len(addresses) > KAKAO_MAX_USERS:
            raise ValueError("the Event API takes at most 100 users a call")
        body = {
            "event": {
                "name": KAKAO_EVENT_NAME,
                "data": {
                    "text": kakao_text(content),
                    "title": content.title[:50],
                    "url": content.url or "",
                },
            },
            "user": [{"type": "botUserKey", "id": address} for address in addresses],
            "params": {"messageKey": content.message_key},
        }
        try:
            response = await self.client.post(self.url, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            return SendResult("transient", f"카카오: {type(exc).__name__}")
        if response.status_code == 429:
            retry = float(response.headers.get("Retry-After", "60") or 60)
            return SendResult("rate_limited", "카카오 429", retry_after_s=retry)
        if response.status_code >= 500:
            return SendResult("transient", f"카카오 {response.status_code}")
        if response.status_code >= 400:
            return SendResult("permanent_message", f"카카오 {response.status_code}: {response.text[:200]}")
        try:
            payload = response.json()
        except ValueError:
            return SendResult("transient", "카카오: JSON이 아닌 응답")
        task_id = payload.get("taskId") if isinstance(payload, dict) else None
        if not task_id:
            return SendResult("transient", "카카오: taskId 없음")
        return SendResult("sent", external_id=str(task_id))


# --- e-mail --------------------------------------------------------------------------------------


class EmailChannel:
    """SMTP in a thread (smtplib); `EmailMessage` encodes the Korean subject (RFC 2047) and body."""

    name = "email"
    max_batch = 1

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def compose(self, address: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        name, mail = parseaddr(self.settings.mail_from)
        message["From"] = formataddr((name, mail))
        message["To"] = address
        message["Subject"] = subject
        message.set_content(body, charset="utf-8")
        return message

    def build(self, address: str, content: Content) -> EmailMessage:
        body = plain_text(content, "더 이상 받지 않으려면 아래 링크를 누르세요.")
        message = self.compose(address, content.subject, body)
        message["List-Unsubscribe"] = f"<{content.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message

    def _send_sync(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password is not None:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)

    async def send(self, addresses: list[str], content: Content) -> SendResult:
        (address,) = addresses
        return await self.deliver(self.build(address, content))

    async def deliver(self, message: EmailMessage) -> SendResult:
        try:
            await asyncio.to_thread(self._send_sync, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                return SendResult("permanent_recipient", f"메일 수신 거부 {codes[0]}")
            return SendResult("transient", f"메일 {codes}")
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult("transient", f"메일: {type(exc).__name__}")
        return SendResult("sent")


# --- webhook --------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Gopa-Signature"
TIMESTAMP_HEADER = "X-Gopa-Timestamp"


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over '{timestamp}.{body}', so a replayed body with a new time fails."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    name = "webhook"
    max_batch = 1

    def __init__(self, client: httpx.AsyncClient, secret: str, clock: Clock) -> None:
        self.client = client
        self.secret = secret
        self.clock = clock

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, addresses: list[str], content: Content) -> SendResult:
        (url,) = addresses
        body = json.dumps(
            {
                "type": "reminder" if content.message_key.startswith("rem:") else "announcement",
                "message_key": content.message_key,
                "headline": content.headline,
                "title": content.title,
                "lines": list(content.lines),
                "url": content.url,
                "unsubscribe_url": content.unsubscribe_url,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(self.clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign_webhook(self.secret, timestamp, body),
        }
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult("transient", f"웹훅: {type(exc).__name__}")
        if response.status_code == 429:
            return SendResult("rate_limited", "웹훅 429", retry_after_s=float(response.headers.get("Retry-After", 60)))
        if response.status_code in (404, 410):
            return SendResult("permanent_recipient", f"웹훅 {response.status_code}")
        if response.status_code >= 300:
            return SendResult("transient", f"웹훅 {response.status_code}")
        return SendResult("sent")
