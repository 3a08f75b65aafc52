"""A bot application intent reaches the notifier's deadline-reminder recipients (composed as in production)."""

import pytest

from bot.reply import Message
from core.settings import Settings
from tests.desk.helpers import running_app

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]


async def test_a_bot_intent_makes_its_chat_user_a_reminder_recipient(settings: Settings) -> None:
    async with running_app(settings) as (_app, services):
        assert services.dialogue is not None
        # Subscribed to another topic only: the intent is what makes this user a recipient.
        subscriber = await services.subscriptions.subscribe("telegram", "4242", ["바이오"], consent=True)
        await services.subscriptions.subscribe("telegram", "5151", ["바이오"], consent=True)
        await services.dialogue.respond(Message(channel="telegram", user_key="4242", text="스마트공장 알려줘"))
        reply = await services.dialogue.respond(Message(channel="telegram", user_key="4242", text="이거 신청할게요"))
        assert "신청 의향을 기록했어요" in reply.texts[0]
        recipients = await services.notifier.intents.subscriber_ids("smart_factory")
        assert list(recipients) == [subscriber.id]
        assert list(await services.notifier.intents.subscriber_ids("test_analysis")) == []
