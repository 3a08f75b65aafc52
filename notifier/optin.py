"""E-mail double opt-in: an address typed into the web chat (or the CLI, or the public REST API)
subscribes only after its owner follows the link mailed to it.

A request is kept as an `OptinRequest` (never a subscriber, so nothing is sent to it) with the
SHA-256 of a random token; the mail carries the token. Opening the link shows a page that asks
to confirm with a POST (mail systems' link scanners follow GETs); the POST uses the token once
and activates the subscription with the consent record of the request. Asking again for a
pending address mails a new link (the old one stops working), at most once per
`optin_resend_after_s` and `optin_max_mails` times per request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import Clock, ensure_utc
from core.db import Database
from core.settings import Settings
from knowledge_base.consent import AlertConsent
from notifier.channels import EmailChannel
from notifier.models import OptinRequest
from notifier.render import format_moment
from notifier.subscriptions import (
    SubscriptionError,
    SubscriptionService,
    SubscriptionView,
    clean_topics,
    validate_address,
)

MAX_TOKEN_CHARS = 100
log = logging.getLogger(__name__)

OptinStatus = Literal["sent", "throttled", "failed"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OptinOutcome:
    """`sent`: a mail with a fresh link went out; `throttled`: one went out recently (the topics
    were still added to the request); `failed`: the mail server refused or was unreachable."""

    status: OptinStatus
    topics: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class PendingView:
    topics: tuple[str, ...]
    expires_at: datetime
    consent_text: str


class ConfirmationMailer:
    """Writes the confirmation mail from the consent texts and sends it over the SMTP channel."""

    def __init__(self, settings: Settings, texts: AlertConsent, channel: EmailChannel | None = None) -> None:
        self.settings = settings
        self.texts = texts
        self.channel = channel or EmailChannel(settings)

    def confirm_url(self, token: str) -> str:
        return f"{self.settings.public_base_url.rstrip('/')}/subscribe/confirm/{token}"

    async def send(self, address: str, token: str, topics: Iterable[str], consent: str, expires_at: datetime) -> bool:
        subject, body = self.texts.mail(tuple(topics), consent, self.confirm_url(token), format_moment(expires_at))
        result = await self.channel.deliver(self.channel.compose(address, subject, body))
        if result.outcome != "sent":
            # Staff must see why nobody can subscribe (often: no mail server configured).
            log.warning(
                "confirmation mail not sent via %s:%s (%s): %s",
                self.settings.smtp_host,
                self.settings.smtp_port,
                result.outcome,
                result.detail,
            )
        return result.outcome == "sent"


class OptinService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        subscriptions: SubscriptionService,
        mailer: ConfirmationMailer,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.subscriptions = subscriptions
        self.mailer = mailer

    async def request(
        self, address: str, topics: Iterable[str], *, consent: bool, consent_channel: str, consent_text: str
    ) -> OptinOutcome:
        """Record a pending e-mail subscription and mail its confirmation link (or say why not)."""
        if not consent:
            raise SubscriptionError("알림을 받으려면 수신 동의가 필요해요.")
        address = validate_address("email", address)
        wanted = clean_topics(topics)
        if not wanted:
            raise SubscriptionError("관심 분야를 하나 이상 골라 주세요.")
        token = secrets.token_urlsafe(32)
        try:
            recorded = await self._record(address, wanted, consent_channel, consent_text, token)
        except IntegrityError:
            # Another request for the address inserted the pending row between our look-up and
            # insert (a double submit): the second try finds that row and adds to it.
            recorded = await self._record(address, wanted, consent_channel, consent_text, token)
        if isinstance(recorded, OptinOutcome):
            return recorded
        request_id, result = recorded
        # Committed first: the link must work the moment the mail arrives.
        if await self.mailer.send(address, token, result.topics, consent_text, result.expires_at):
            return result
        async with self.db.writing(), self.db.session() as session:
            # Not sent: the person may try again at once, and the unsent link is void.
            await session.execute(
                update(OptinRequest)
                .where(OptinRequest.id == request_id)
                .values(
                    last_sent_at=None, sends=OptinRequest.sends - 1, token_hash=hash_token(secrets.token_urlsafe(32))
                )
            )
            await session.commit()
        return OptinOutcome("failed", result.topics, result.expires_at)

    async def _record(
        self, address: str, wanted: list[str], consent_channel: str, consent_text: str, token: str
    ) -> OptinOutcome | tuple[int, OptinOutcome]:
        """Add to the address's pending request (or create it): the throttled outcome, or the
        request's id and the outcome of the mail about to go out with `token`."""
        now = self.clock.now()
        s = self.settings
        async with self.db.writing(), self.db.session() as session:
            # Unconfirmed requests past their life are of no use and hold an address: drop them.
            await session.execute(delete(OptinRequest).where(OptinRequest.expires_at <= now))
            pending = (
                await session.execute(
                    select(OptinRequest)
                    .where(OptinRequest.address == address, OptinRequest.confirmed_at.is_(None))
                    .with_for_update()  # PostgreSQL: requests that found the row add to it in turn
                )
            ).scalar_one_or_none()
            if pending is None:
                pending = OptinRequest(
                    channel="email", address=address, topics=[], created_at=now, sends=0, token_hash=hash_token(token)
                )
                session.add(pending)
            pending.topics = clean_topics([*(pending.topics or []), *wanted])
            pending.consent_channel = consent_channel[:12]
            pending.consent_text = consent_text
            last = ensure_utc(pending.last_sent_at) if pending.last_sent_at else None
            if pending.sends >= s.optin_max_mails or (
                last is not None and now - last < timedelta(seconds=s.optin_resend_after_s)
            ):
                await session.commit()
                return OptinOutcome("throttled", tuple(pending.topics), ensure_utc(pending.expires_at))
            # A new link replaces the one mailed before: only the latest mail's link works.
            pending.token_hash = hash_token(token)
            pending.expires_at = now + timedelta(hours=s.optin_token_ttl_h)
            pending.last_sent_at = now
            pending.sends += 1
            await session.commit()
            return pending.id, OptinOutcome("sent", tuple(pending.topics), ensure_utc(pending.expires_at))

    async def peek(self, token: str) -> PendingView | None:
        """What the confirmation page shows for a live link (it does not use the link)."""
        pending = await self._live(token)
        if pending is None:
            return None
        return PendingView(tuple(pending.topics or ()), ensure_utc(pending.expires_at), pending.consent_text)

    async def confirm(self, token: str) -> SubscriptionView | None:
        """Use the link once: the subscription becomes active with the request's consent record."""
        pending = await self._live(token)
        if pending is None:
            return None
        now = self.clock.now()
        async with self.db.writing(), self.db.session() as session:
            # Conditional: of two confirmations racing, one wins and the other finds the link used.
            used = await session.execute(
                update(OptinRequest)
                .where(OptinRequest.id == pending.id, OptinRequest.confirmed_at.is_(None))
                .values(confirmed_at=now)
            )
            await session.commit()
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self.subscriptions.subscribe(
            "email",
            pending.address,
            pending.topics or [],
            consent=True,
            consent_channel=pending.consent_channel,
            consent_text=pending.consent_text,
            confirmed=True,
        )

    async def _live(self, token: str) -> OptinRequest | None:
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        async with self.db.session() as session:
            pending = (
                await session.execute(select(OptinRequest).where(OptinRequest.token_hash == hash_token(token)))
            ).scalar_one_or_none()
        if pending is None or pending.confirmed_at is not None:
            return None
        if ensure_utc(pending.expires_at) <= self.clock.now():
            return None
        return pending
