"""Reply -> Kakao i Open Builder SkillResponse 2.0, inside every documented limit.

Limits (shared/reference/channels.md): 1-3 outputs; simpleText <= 1000 characters; <= 10 quick
replies; carousel <= 10 cards of one type; textCard title <= 50, description <= 400 (<= 128 in a
carousel); <= 3 buttons with labels <= 14. Lengths are counted in NFC characters.
"""

from __future__ import annotations

from typing import Any

from bot.reply import Button, Card, QuickReply, Reply
from core.text import nfc

MAX_OUTPUTS = 3
MAX_SIMPLE_TEXT = 1000
MAX_QUICK_REPLIES = 10
MAX_CAROUSEL = 10
MAX_TITLE = 50
MAX_CARD_DESCRIPTION = 400
MAX_CAROUSEL_DESCRIPTION = 128
MAX_BUTTONS = 3
MAX_LABEL = 14
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; a cut text ends with an ellipsis."""
    text = nfc(text)
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def split_text(text: str, limit: int = MAX_SIMPLE_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends (then spaces) where possible."""
    text = nfc(text).strip()
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].strip()
    if text or not pieces:
        pieces.append(text)
    return pieces


def _button(button: Button) -> dict[str, Any]:
    out: dict[str, Any] = {"label": clip(button.label, MAX_LABEL), "action": button.action}
    if button.action == "webLink":
        out["webLinkUrl"] = button.value
    elif button.action == "phone":
        out["phoneNumber"] = button.value
    else:
        out["messageText"] = button.value
    return out


def _text_card(card: Card, description_limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": clip(card.title, MAX_TITLE),
        "description": clip(card.description, description_limit),
    }
    if card.buttons:
        out["buttons"] = [_button(b) for b in card.buttons[:MAX_BUTTONS]]
    return out


def _quick_reply(quick: QuickReply) -> dict[str, Any]:
    out: dict[str, Any] = {"label": clip(quick.label, MAX_LABEL), "action": "message", "messageText": quick.message}
    if quick.extra:
        out["extra"] = dict(quick.extra)
    return out


def render(reply: Reply) -> dict[str, Any]:
    card_outputs: list[dict[str, Any]] = []
    if len(reply.cards) == 1:
        card_outputs.append({"textCard": _text_card(reply.cards[0], MAX_CARD_DESCRIPTION)})
    elif reply.cards:
        items = [_text_card(c, MAX_CAROUSEL_DESCRIPTION) for c in reply.cards[:MAX_CAROUSEL]]
        card_outputs.append({"carousel": {"type": "textCard", "items": items}})

    room = MAX_OUTPUTS - len(card_outputs)
    pieces = [piece for text in reply.texts for piece in split_text(text)]
    pieces = [p for p in pieces if p] or ([] if card_outputs else ["…"])
    if len(pieces) > room:
        # Join what does not fit into the last bubble, then cut that bubble to the limit.
        head, tail = pieces[: room - 1], "\n\n".join(pieces[room - 1 :])
        pieces = [*head, clip(tail, MAX_SIMPLE_TEXT)]
    outputs = [{"simpleText": {"text": p}} for p in pieces] + card_outputs

    template: dict[str, Any] = {"outputs": outputs}
    if reply.quick_replies:
        template["quickReplies"] = [_quick_reply(q) for q in reply.quick_replies[:MAX_QUICK_REPLIES]]
    return {"version": "2.0", "template": template}


def simple(text: str) -> dict[str, Any]:
    return render(Reply(texts=(text,)))
