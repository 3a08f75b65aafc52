"""Reply -> plain terminal text (the CLI's `gopa ask` and `gopa chat`)."""

from __future__ import annotations

from bot.reply import Reply


def render(reply: Reply) -> str:
    lines: list[str] = [text for text in reply.texts if text]
    for card in reply.cards:
        lines.append(f"▸ {card.title}\n  {card.description}")
        lines.extend(f"  [{b.label}] {b.value}" for b in card.buttons)
    if reply.quick_replies:
        lines.append("빠른 답장: " + " | ".join(f"{i}) {q.label}" for i, q in enumerate(reply.quick_replies, 1)))
    return "\n".join(lines)
