"""Reply -> Telegram messages (HTML parse mode, inline keyboards).

Every dynamic string is escaped for HTML; long texts are split at Telegram's 4096 UTF-16 units
before escaping, so markup stays balanced in each piece. Quick replies and card message buttons
become callback buttons; their `callback_data` is at most 64 bytes, so a longer message (or one
with an `extra`) travels as a short key that `CallbackKeys` resolves on the way back.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import OrderedDict
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.reply import Button, Card, QuickReply, Reply
from bot.telegram_keys import CallbackPayload
from core.text import split_utf16, utf16_length

MAX_TEXT_UNITS = 4096
MAX_CALLBACK_BYTES = 64
INLINE_PREFIX = "m:"
KEY_PREFIX = "k:"
EMPTY_REPLY_TEXT = "아래에서 골라 주세요."


@dataclass(frozen=True)
class TelegramMessage:
    text: str  # HTML
    reply_markup: InlineKeyboardMarkup | None = None
    parse_mode: str = "HTML"


class CallbackKeys:
    """Maps button payloads to callback data of at most 64 bytes.

    Short plain messages travel inline; others get a content-hash key kept in a bounded LRU
    (and, through `take_unsaved`, in a shared store: see bot.telegram_keys). A key nobody
    knows is reported as expired, never misread."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max = max_entries
        self._payloads: OrderedDict[str, CallbackPayload] = OrderedDict()
        self._unsaved: dict[str, CallbackPayload] = {}

    def data_for(self, message: str, extra: dict[str, str] | None = None) -> str:
        inline = INLINE_PREFIX + message
        if not extra and len(inline.encode()) <= MAX_CALLBACK_BYTES:
            return inline
        raw = json.dumps([message, extra or {}], ensure_ascii=False, sort_keys=True).encode()
        digest = base64.urlsafe_b64encode(hashlib.blake2b(raw, digest_size=15).digest()).decode()
        key = KEY_PREFIX + digest
        if key not in self._payloads:
            self._unsaved[key] = CallbackPayload(message, dict(extra) if extra else None)
            self._payloads[key] = self._unsaved[key]
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._max:
            self._payloads.popitem(last=False)
        return key

    def take_unsaved(self) -> dict[str, CallbackPayload]:
        """Keys handed out since the last call, for a shared store to keep."""
        unsaved, self._unsaved = self._unsaved, {}
        return unsaved

    def remember(self, key: str, payload: CallbackPayload) -> None:
        """Cache a payload found in the shared store."""
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._max:
            self._payloads.popitem(last=False)

    def resolve(self, data: str | None) -> CallbackPayload | None:
        if not data:
            return None
        if data.startswith(INLINE_PREFIX):
            return CallbackPayload(data[len(INLINE_PREFIX) :])
        payload = self._payloads.get(data)
        if payload is not None:
            self._payloads.move_to_end(data)
        return payload


def _button(button: Button, keys: CallbackKeys) -> InlineKeyboardButton | None:
    if button.action == "webLink":
        if button.value.startswith(("https://", "http://")):
            return InlineKeyboardButton(button.label, url=button.value)
        return None
    if button.action == "message":
        return InlineKeyboardButton(button.label, callback_data=keys.data_for(button.value))
    # Inline keyboards cannot dial; the number is written into the card text instead.
    return None


def _card_body(card: Card) -> str:
    lines = [card.description] if card.description else []
    lines += [f"☎ {b.label}: {b.value}" for b in card.buttons if b.action == "phone"]
    return "\n".join(lines)


def _card_texts(card: Card, title: str | None = None) -> list[str]:
    title = title or card.title
    body = _card_body(card)
    # The title is counted once in the first piece; the body is split on its own.
    room = max(MAX_TEXT_UNITS - utf16_length(title) - 1, MAX_TEXT_UNITS // 2)
    parts = split_utf16(body, room) if body else []
    head = f"<b>{html.escape(title)}</b>"
    if not parts:
        return [head]
    return [f"{head}\n{html.escape(parts[0])}"] + [html.escape(p) for p in parts[1:]]


def _card_list(cards: tuple[Card, ...], keys: CallbackKeys) -> TelegramMessage | None:
    """Several cards (a carousel elsewhere) as one numbered message, when it fits: one chat
    message instead of a burst that would run into Telegram's per-chat pacing."""
    blocks: list[str] = []
    plain_units = 0
    buttons: list[list[InlineKeyboardButton]] = []
    for number, card in enumerate(cards, start=1):
        title = f"{number}. {card.title}"
        texts = _card_texts(card, title)
        if len(texts) > 1:
            return None
        blocks.append(texts[0])
        plain_units += utf16_length(title) + 1 + utf16_length(_card_body(card)) + 2
        for button in card.buttons:
            rendered = _button(Button(f"{number}. {button.label}", button.action, button.value), keys)
            if rendered is not None:
                buttons.append([rendered])
    if plain_units > MAX_TEXT_UNITS:
        return None
    return TelegramMessage("\n\n".join(blocks), InlineKeyboardMarkup(buttons) if buttons else None)


def _rows(buttons: list[InlineKeyboardButton], per_row: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def _quick_reply_buttons(quick_replies: tuple[QuickReply, ...], keys: CallbackKeys) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(q.label, callback_data=keys.data_for(q.message, q.extra)) for q in quick_replies]


def render_telegram(reply: Reply, keys: CallbackKeys) -> list[TelegramMessage]:
    """The messages to send, in order; quick replies ride on the last one."""
    messages: list[TelegramMessage] = [
        TelegramMessage(html.escape(piece)) for text in reply.texts for piece in split_utf16(text, MAX_TEXT_UNITS)
    ]
    combined = _card_list(reply.cards, keys) if len(reply.cards) > 1 else None
    if combined is not None:
        messages.append(combined)
    for card in reply.cards if combined is None else ():
        texts = _card_texts(card)
        buttons = [b for b in (_button(btn, keys) for btn in card.buttons) if b is not None]
        messages += [TelegramMessage(t) for t in texts[:-1]]
        markup = InlineKeyboardMarkup(_rows(buttons, 1)) if buttons else None
        messages.append(TelegramMessage(texts[-1], markup))
    if reply.quick_replies:
        rows = _rows(_quick_reply_buttons(reply.quick_replies, keys), 2)
        if not messages:
            messages.append(TelegramMessage(html.escape(EMPTY_REPLY_TEXT)))
        last = messages[-1]
        existing = list(last.reply_markup.inline_keyboard) if last.reply_markup else []
        messages[-1] = TelegramMessage(last.text, InlineKeyboardMarkup([*existing, *rows]))
    return messages
