"""What the dialogue needs from other packages, as protocols the composing app fills in.

`bot` may not import `notifier` or `desk` (arrows point one way); `api` injects these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.reply import Message, Reply

# Channels with no address of their own to push alerts to: their users subscribe an e-mail address.
EMAIL_CHANNELS = frozenset({"web", "cli"})
# An e-mail address inside what a user typed (a hand-off contact, an alert address).
EMAIL_IN_TEXT = re.compile(r"[^@\s<>()\[\],;:'\"]+@[^@\s<>()\[\],;:'\"]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class SubscriptionResult:
    ok: bool
    topics: tuple[str, ...] = ()
    message: str = ""
    # E-mail: a confirmation link was mailed; alerts start once its owner follows it.
    pending: bool = False


class SubscriptionPort(Protocol):
    async def subscribe(
        self,
        message: Message,
        topics: list[str],
        *,
        consent: bool,
        address: str | None = None,
        consent_text: str | None = None,
    ) -> SubscriptionResult:
        """`address`: the e-mail a web chat or CLI user gave (those channels have none of their own).
        `consent_text`: the text the user agreed to, kept as the consent record; a first
        subscription needs it (adding topics to an active one does not)."""
        ...

    async def unsubscribe(self, message: Message) -> SubscriptionResult: ...

    async def topics_of(self, message: Message) -> list[str]: ...


@dataclass(frozen=True)
class HandoffRequest:
    channel: str
    user_key: str
    company_name: str
    contact: str
    topic: str
    program_ids: tuple[str, ...] = ()
    transcript: str = ""
    categories: tuple[str, ...] = ()
    # Facts the user gave in the eligibility check just before: fill a new company's record.
    location: str | None = None
    industry: str | None = None
    employees: int | None = None


class HandoffPort(Protocol):
    async def create_handoff(self, request: HandoffRequest) -> str:
        """Store a consultation request (status 신규, channel 챗봇); return its reference."""
        ...

    async def record_intent(self, channel: str, user_key: str, program_id: str, company_name: str | None) -> str:
        """Record an application intent (source bot); return its reference."""
        ...


# Where a published 공고 stands now: taking applications, not yet, or as its text says (추후 공지).
AnnouncementState = Literal["open", "upcoming", "see_notice"]


@dataclass(frozen=True)
class OpenAnnouncement:
    """A published 공고 of a program whose deadline has not passed, as a company reads it."""

    title: str
    period: str  # in Korean time: '~ 2026년 12월 31일(목) 18:00', '상시 접수', '추후 공지'
    url: str | None = None
    state: AnnouncementState = "open"


class AnnouncementPort(Protocol):
    async def open_for(self, program_id: str) -> list[OpenAnnouncement]:
        """The program's published announcements whose deadline has not passed, nearest first."""
        ...


class DialoguePort(Protocol):
    """What every channel adapter calls: one message in, one channel-neutral reply out."""

    async def respond(self, message: Message) -> Reply: ...
