"""Dialogue: intent, entities and user state to a channel-neutral Reply, plus channel renderers."""

from bot.reply import Button, Card, Message, QuickReply, Reply

__all__ = ["Button", "Card", "Message", "QuickReply", "Reply"]
