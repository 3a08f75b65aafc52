"""The Telegram webhook with the real python-telegram-bot against the local fake Bot API."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from api.app import create_app
from api.container import Services, build_services
from bot.reply import Message, QuickReply, Reply
from core.settings import Settings
from knowledge_base.consent import load_alert_consent
from notifier.models import Subscriber
from tests.fakes.nlu import KeywordNlu
from tests.fakes.telegram_server import FakeTelegram

SECRET = "webhook-secret-for-tests"
CHAT_ID = 424242
LONG_QUICK_REPLY = "스마트공장 지원 자격을 확인하고 싶어요, 자부담 비율도 알려 주세요"  # > 64 bytes in UTF-8


@dataclass
class RecordingDialogue:
    """Stands in for the dialogue where the test is about the channel, not the answer."""

    seen: list[Message] = field(default_factory=list)

    async def respond(self, message: Message) -> Reply:
        self.seen.append(message)
        return Reply(
            texts=(f"받은 말: {message.text} <&>",),
            quick_replies=(QuickReply("자격 확인", LONG_QUICK_REPLY),),
        )


def text_update(update_id: int, text: str, chat_id: int = CHAT_ID) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "기업"},
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


def callback_update(update_id: int, data: str, chat_id: int = CHAT_ID) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "기업"},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": chat_id, "type": "private"},
                "text": "이전 메시지",
            },
        },
    }


@pytest.fixture
def bot_api() -> Iterator[FakeTelegram]:
    with FakeTelegram() as api:
        yield api


def telegram_settings(settings: Settings, api: FakeTelegram, secret: str | None = SECRET) -> Settings:
    return settings.model_copy(
        update={
            "telegram_bot_token": pydantic_secret(api.token),
            "telegram_base_url": api.base_url,
            "telegram_webhook_secret": pydantic_secret(secret) if secret is not None else None,
        }
    )


def pydantic_secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@dataclass
class Running:
    client: httpx.AsyncClient
    services: Services
    dialogue: RecordingDialogue


@pytest.fixture
async def running(settings: Settings, bot_api: FakeTelegram) -> AsyncIterator[Running]:
    configured = telegram_settings(settings, bot_api)
    services = await build_services(configured, nlu=KeywordNlu())  # the dialogue is replaced below
    dialogue = RecordingDialogue()
    services.dialogue = dialogue
    app = create_app(configured, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Running(client, services, dialogue)
    await services.close()


def headers(secret: str = SECRET) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret}


async def subscriber_count(services: Services) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Subscriber)) or 0)


@pytest.mark.db
async def test_text_goes_to_the_dialogue_and_the_answer_is_escaped_html(
    running: Running, bot_api: FakeTelegram
) -> None:
    response = await running.client.post("/telegram/webhook", json=text_update(1, "안녕하세요"), headers=headers())
    assert response.status_code == 200
    assert [m.text for m in running.dialogue.seen] == ["안녕하세요"]
    assert running.dialogue.seen[0].channel == "telegram"
    assert running.dialogue.seen[0].user_key == str(CHAT_ID)
    [sent] = bot_api.sent_to(CHAT_ID)
    assert sent["text"] == "받은 말: 안녕하세요 &lt;&amp;&gt;"
    assert sent["parse_mode"] == "HTML"
    [[button]] = sent["reply_markup"]["inline_keyboard"]
    assert button["text"] == "자격 확인"
    assert len(button["callback_data"].encode()) <= 64


@pytest.mark.db
async def test_quick_reply_tap_is_answered_and_fed_back_as_its_message(running: Running, bot_api: FakeTelegram) -> None:
    await running.client.post("/telegram/webhook", json=text_update(1, "질문"), headers=headers())
    data = bot_api.sent_to(CHAT_ID)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    response = await running.client.post("/telegram/webhook", json=callback_update(2, data), headers=headers())
    assert response.status_code == 200
    [answered] = bot_api.params_of("answerCallbackQuery")
    assert answered["callback_query_id"] == "cb2"
    assert running.dialogue.seen[-1].text == LONG_QUICK_REPLY
    assert len(bot_api.sent_to(CHAT_ID)) == 2


@pytest.mark.db
async def test_forged_button_data_is_not_fed_to_the_dialogue(running: Running, bot_api: FakeTelegram) -> None:
    response = await running.client.post("/telegram/webhook", json=callback_update(3, "k:forged"), headers=headers())
    assert response.status_code == 200
    assert running.dialogue.seen == []
    [answered] = bot_api.params_of("answerCallbackQuery")
    assert "만료" in answered["text"]


@pytest.mark.db
async def test_help_and_start_list_the_commands(running: Running, bot_api: FakeTelegram) -> None:
    for i, command in enumerate(("/start", "/help"), start=1):
        await running.client.post("/telegram/webhook", json=text_update(i, command), headers=headers())
    sent = bot_api.sent_to(CHAT_ID)
    assert len(sent) == 2
    for message in sent:
        assert "/subscribe" in message["text"] and "/unsubscribe" in message["text"]
    assert running.dialogue.seen == []


@pytest.mark.db
@pytest.mark.parametrize(
    "given",
    [None, "", "wrong-secret", SECRET + "x", SECRET[:-1]],
    ids=["missing", "empty", "wrong", "longer", "prefix"],
)
async def test_forged_webhook_calls_change_nothing(running: Running, bot_api: FakeTelegram, given: str | None) -> None:
    calls_before = len(bot_api.requests)
    forged = [
        text_update(10, "스마트공장 지원 조건이 뭐예요?"),
        callback_update(11, "sub:스마트물류"),
        callback_update(13, "subok:스마트물류"),
        text_update(12, "/subscribe"),
    ]
    for update in forged:
        response = await running.client.post(
            "/telegram/webhook", json=update, headers=headers(given) if given is not None else {}
        )
        assert response.status_code == 403
    assert len(bot_api.requests) == calls_before  # nothing sent, no callback answered
    assert running.dialogue.seen == []  # no dialogue state touched
    assert await subscriber_count(running.services) == 0


@pytest.mark.db
async def test_webhook_refuses_everything_when_no_secret_is_configured(
    settings: Settings, bot_api: FakeTelegram
) -> None:
    configured = telegram_settings(settings, bot_api, secret=None)
    services = await build_services(configured, nlu=KeywordNlu())  # the dialogue is replaced below
    dialogue = RecordingDialogue()
    services.dialogue = dialogue
    app = create_app(configured, services)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    async with app.router.lifespan_context(app), client:
        for given in ({}, headers(""), headers("anything")):
            response = await client.post("/telegram/webhook", json=text_update(1, "안녕"), headers=given)
            assert response.status_code == 403
    await services.close()
    assert dialogue.seen == []
    assert bot_api.messages == []


@pytest.mark.db
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"update_id": "x"}', 400),
        ('{"update_id": 1, "message": {"text": "한글 깨짐 \ud800"}}'.encode("utf-8", "surrogatepass"), 400),
        (b'{"update_id": 5, "message": {"chat": 3}}', 400),
        (b'{"update_id": 1, "pad": "' + b"a" * 70_000 + b'"}', 413),
    ],
)
async def test_bad_bodies_get_clear_errors_and_the_service_keeps_running(
    running: Running, bot_api: FakeTelegram, body: bytes, status: int
) -> None:
    response = await running.client.post(
        "/telegram/webhook", content=body, headers={**headers(), "content-type": "application/json"}
    )
    assert response.status_code == status
    assert running.dialogue.seen == []
    ok = await running.client.post("/telegram/webhook", json=text_update(9, "다시"), headers=headers())
    assert ok.status_code == 200
    assert [m.text for m in running.dialogue.seen] == ["다시"]


@pytest.mark.db
async def test_subscribe_button_creates_a_telegram_subscriber_and_unsubscribe_ends_it(
    running: Running, bot_api: FakeTelegram
) -> None:
    await running.client.post("/telegram/webhook", json=text_update(1, "/subscribe"), headers=headers())
    [prompt] = bot_api.sent_to(CHAT_ID)
    assert "동의" in prompt["text"]
    buttons = {b["text"]: b["callback_data"] for row in prompt["reply_markup"]["inline_keyboard"] for b in row}
    assert "스마트물류" in buttons

    await running.client.post("/telegram/webhook", json=callback_update(2, buttons["스마트물류"]), headers=headers())
    assert bot_api.params_of("answerCallbackQuery")
    # A topic tap shows the consent text every channel shows; only '동의하고 구독' subscribes.
    asked = bot_api.sent_to(CHAT_ID)[-1]
    consent = load_alert_consent().consent(21, 8)
    assert html.escape(consent) in asked["text"] and "관심 분야: 스마트물류" in asked["text"]
    assert await subscriber_count(running.services) == 0
    agree = {b["text"]: b["callback_data"] for row in asked["reply_markup"]["inline_keyboard"] for b in row}
    await running.client.post("/telegram/webhook", json=callback_update(3, agree["동의하고 구독"]), headers=headers())
    async with running.services.db.session() as session:
        [subscriber] = (await session.scalars(select(Subscriber))).all()
    assert (subscriber.channel, subscriber.address, subscriber.active) == ("telegram", str(CHAT_ID), True)
    assert subscriber.topics == ["스마트물류"]
    assert subscriber.consent_at is not None
    assert (subscriber.consent_channel, subscriber.consent_text) == ("telegram", consent)
    assert "스마트물류" in bot_api.sent_to(CHAT_ID)[-1]["text"]

    await running.client.post("/telegram/webhook", json=text_update(3, "/topics"), headers=headers())
    assert "스마트물류" in bot_api.sent_to(CHAT_ID)[-1]["text"]

    await running.client.post("/telegram/webhook", json=text_update(4, "/unsubscribe"), headers=headers())
    assert "해지" in bot_api.sent_to(CHAT_ID)[-1]["text"]
    assert await running.services.subscriptions.topics_of("telegram", str(CHAT_ID)) == []
    assert running.dialogue.seen == []


@pytest.mark.db
async def test_the_bot_token_never_reaches_the_logs(
    running: Running, bot_api: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await running.client.post("/telegram/webhook", json=text_update(1, "안녕하세요"), headers=headers())
    assert bot_api.sent_to(CHAT_ID)
    assert "sendMessage" in caplog.text  # httpx did log the request ...
    assert bot_api.token not in caplog.text  # ... without the token in its URL


@pytest.mark.db
async def test_a_photo_gets_a_hint_to_write_instead(running: Running, bot_api: FakeTelegram) -> None:
    update = text_update(1, "x")
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    response = await running.client.post("/telegram/webhook", json=update, headers=headers())
    assert response.status_code == 200
    [hint] = bot_api.sent_to(CHAT_ID)
    assert "글로 물어봐 주세요" in hint["text"]
    assert running.dialogue.seen == []


@pytest.mark.db
async def test_a_button_shown_by_one_process_works_on_another(settings: Settings, bot_api: FakeTelegram) -> None:
    """API replicas (or a restart) share button payloads through the database."""
    configured = telegram_settings(settings, bot_api)
    replicas = []
    for _ in range(2):
        services = await build_services(configured, nlu=KeywordNlu())
        services.dialogue = RecordingDialogue()
        replicas.append((services, create_app(configured, services)))
    (_, first_app), (second, second_app) = replicas
    async with (
        LifespanManager(first_app),
        LifespanManager(second_app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first_app), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second_app), base_url="http://b") as b,
    ):
        await a.post("/telegram/webhook", json=text_update(1, "질문"), headers=headers())
        data = bot_api.sent_to(CHAT_ID)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        assert data.startswith("k:")
        await b.post("/telegram/webhook", json=callback_update(2, data), headers=headers())
    for services, _ in replicas:
        await services.close()
    assert [m.text for m in second.dialogue.seen] == [LONG_QUICK_REPLY]  # type: ignore[union-attr]


@pytest.mark.db
async def test_a_member_joining_a_group_gets_no_answer(running: Running, bot_api: FakeTelegram) -> None:
    update = text_update(1, "x", chat_id=-100123)
    message = update["message"]
    del message["text"]
    message["chat"]["type"] = "supergroup"
    message["new_chat_members"] = [{"id": 9, "is_bot": False, "first_name": "새 회원"}]
    response = await running.client.post("/telegram/webhook", json=update, headers=headers())
    assert response.status_code == 200
    assert bot_api.messages == []


@pytest.mark.db
async def test_the_web_chat_page_points_to_the_running_bot_for_alerts(running: Running) -> None:
    page = (await running.client.get("/")).text
    assert 'href="https://t.me/gopa_test_bot"' in page
