"""A channel-neutral reply. Channel adapters (Kakao, Telegram, web) render it within their limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ButtonAction = Literal["message", "webLink", "phone"]


@dataclass(frozen=True)
class Button:
    label: str
    action: ButtonAction
    value: str  # message text, URL or phone number


@dataclass(frozen=True)
class QuickReply:
    label: str
    message: str  # the text sent back when tapped
    extra: dict[str, str] | None = None


@dataclass(frozen=True)
class Card:
    title: str
    description: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Reply:
    texts: tuple[str, ...]  # one bubble each, in order
    cards: tuple[Card, ...] = ()
    quick_replies: tuple[QuickReply, ...] = ()
    sources: tuple[str, ...] = ()  # cited sources (already in the text, kept for tests/UI)
    intent: str | None = None
    confidence: float | None = None
    handoff: bool = False  # the bot offered a person
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """One user message from any channel."""

    channel: Literal["kakao", "telegram", "web", "cli"]
    user_key: str  # channel-scoped user id (Kakao botUserKey, Telegram chat id, web session)
    text: str
    extra: dict[str, str] | None = None  # quick-reply extra, Kakao clientExtra ...
    profile: dict[str, str] | None = None  # e.g. plusfriendUserKey
