"""Done-when check for Telegram: a new chat asks a question and subscribes, through the real
python-telegram-bot, the real dialogue (KB + embedded NLU) and the notifier's subscriber table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from sqlalchemy import select

from api.app import create_app
from api.container import Services, build_services
from core.settings import Settings
from knowledge_base import load_knowledge_base
from notifier.models import Subscriber
from tests.api.test_telegram_webhook import CHAT_ID, callback_update, headers, text_update
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.db

SECRET = "webhook-secret-for-tests"


@dataclass
class Chat:
    client: httpx.AsyncClient
    services: Services
    api: FakeTelegram


@pytest.fixture
async def chat(settings: Settings) -> AsyncIterator[Chat]:
    with FakeTelegram() as api:
        configured = settings.model_copy(
            update={
                "telegram_bot_token": SecretStr(api.token),
                "telegram_base_url": api.base_url,
                "telegram_webhook_secret": SecretStr(SECRET),
            }
        )
        services = await build_services(configured)  # the real dialogue, with the configured NLU
        app = create_app(configured, services)
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
        ):
            yield Chat(client, services, api)
        await services.close()


async def post(chat: Chat, update: dict) -> None:
    response = await chat.client.post("/telegram/webhook", json=update, headers=headers(SECRET))
    assert response.status_code == 200


def buttons(message: dict) -> dict[str, str]:
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return {b["text"]: b.get("callback_data") or b.get("url") for row in markup["inline_keyboard"] for b in row}


async def test_a_new_chat_gets_the_smart_factory_conditions_from_the_kb(chat: Chat) -> None:
    await post(chat, text_update(1, "스마트공장 지원 조건이 뭐예요?"))
    sent = chat.api.sent_to(CHAT_ID)
    assert sent, "the bot answered nothing"
    text = "\n".join(m["text"] for m in sent)
    kb = load_knowledge_base(chat.services.settings.kb_dir)
    program = kb.programs["smart_factory"]
    assert program.name in text
    assert any(target in text for target in program.target)  # 지원대상 from the KB, not from code
    assert "출처: 김포산업진흥원 2022년 주요업무계획" in text
    assert all(m["parse_mode"] == "HTML" for m in sent)
    quick = buttons(sent[-1])
    assert quick and all(len(data.encode()) <= 64 for data in quick.values())


async def test_the_chat_subscribes_to_smart_logistics_through_the_dialogue(chat: Chat) -> None:
    await post(chat, text_update(1, "알림 신청"))
    offer = buttons(chat.api.sent_to(CHAT_ID)[-1])
    assert "스마트물류" in offer
    await post(chat, callback_update(2, offer["스마트물류"]))
    assert chat.api.params_of("answerCallbackQuery")
    asked = chat.api.sent_to(CHAT_ID)[-1]
    assert "[수신 동의]" in asked["text"]
    async with chat.services.db.session() as session:
        assert (await session.scalars(select(Subscriber))).all() == []
    await post(chat, callback_update(3, buttons(asked)["동의하고 구독"]))
    async with chat.services.db.session() as session:
        [subscriber] = (await session.scalars(select(Subscriber))).all()
    assert (subscriber.channel, subscriber.address, subscriber.active) == ("telegram", str(CHAT_ID), True)
    assert subscriber.topics == ["스마트물류"]
    assert subscriber.consent_channel == "telegram" and "[수신 동의]" in (subscriber.consent_text or "")
    assert "스마트물류" in chat.api.sent_to(CHAT_ID)[-1]["text"]
