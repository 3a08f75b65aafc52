"""Reply -> the JSON the web chat page renders (bubbles, cards, quick-reply chips).

The page inserts every string as text, never as HTML; links are limited to http(s) and tel:
here so a stored value can never become a `javascript:` URL.
"""

from __future__ import annotations

from typing import Any

from bot.reply import Button, Reply


def _button(button: Button) -> dict[str, str] | None:
    if button.action == "webLink":
        if not button.value.startswith(("https://", "http://")):
            return None
        return {"label": button.label, "action": "link", "href": button.value}
    if button.action == "phone":
        digits = "".join(ch for ch in button.value if ch.isdigit() or ch == "+")
        return {"label": button.label, "action": "link", "href": f"tel:{digits}", "value": button.value}
    return {"label": button.label, "action": "message", "message": button.value}


def render_web(reply: Reply) -> dict[str, Any]:
    return {
        "texts": list(reply.texts),
        "cards": [
            {
                "title": card.title,
                "description": card.description,
                "buttons": [b for b in (_button(btn) for btn in card.buttons) if b is not None],
            }
            for card in reply.cards
        ],
        "quick_replies": [
            {"label": q.label, "message": q.message, "extra": dict(q.extra) if q.extra else None}
            for q in reply.quick_replies
        ],
        "sources": list(reply.sources),
        "handoff": reply.handoff,
    }
