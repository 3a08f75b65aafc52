"""The web chat page and its JSON endpoint (real dialogue over the fixture KB and keyword NLU)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.container import Services, build_services
from api.routers.webchat import COOKIE
from bot.context import MemoryContextStore
from bot.dialogue import Dialogue
from core.settings import Settings
from knowledge_base.consent import load_alert_consent
from knowledge_base.schema import PLAN_DOCUMENT
from tests.fakes.smtp import Inbox, confirm_link

pytestmark = pytest.mark.db


@pytest.fixture
def settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    # Confirmation mails go to the loopback SMTP server.
    return settings.model_copy(update={"smtp_port": smtp[1], "public_base_url": "http://test"})


@pytest.fixture
async def services(settings: Settings, fixture_kb, keyword_nlu, clock) -> AsyncIterator[Services]:
    services = await build_services(settings, clock, nlu=keyword_nlu)
    # The fixture KB keeps the expected answers independent of edits to the real data.
    services.dialogue = Dialogue(
        fixture_kb,
        keyword_nlu,
        MemoryContextStore(clock, settings.dialogue_context_ttl_s),
        services.subscription_port,
        clock=clock,
        settings=settings,
    )
    yield services
    await services.close()


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


async def say(client: httpx.AsyncClient, text: str, **extra: str) -> httpx.Response:
    body: dict[str, object] = {"text": text}
    if extra:
        body["extra"] = extra
    return await client.post("/webchat/message", json=body)


async def test_page_is_an_accessible_korean_chat_with_no_outside_resources(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="ko">' in page
    assert 'role="log"' in page and 'aria-live="polite"' in page
    assert '<label for="chat-input"' in page
    assert 'name="viewport"' in page
    assert PLAN_DOCUMENT in page
    assert "<script>" not in page  # no inline script: the CSP forbids it
    assert "http://" not in page and "https://" not in page  # no CDN (and no Telegram link: no bot runs)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    for asset in ("/webchat/assets/chat.js", "/webchat/assets/chat.css"):
        assert asset in page
        served = await client.get(asset)
        assert served.status_code == 200
        assert served.text.strip()
    assert (await client.get("/webchat/assets/..%2Fwebchat.py")).status_code == 404
    assert (await client.get("/webchat/assets/other.js")).status_code == 404


async def test_answer_json_and_a_signed_httponly_session_cookie(client: httpx.AsyncClient) -> None:
    response = await say(client, "스마트공장 알려줘")
    assert response.status_code == 200
    reply = response.json()
    assert set(reply) >= {"texts", "cards", "quick_replies"}
    assert any("스마트공장 구축 지원사업" in t for t in reply["texts"])
    assert all({"label", "message", "extra"} <= set(q) for q in reply["quick_replies"])
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "스마트" not in value and "smart" not in value  # the state stays on the server


async def test_follow_up_uses_the_server_side_state_of_this_session_only(client: httpx.AsyncClient) -> None:
    await say(client, "스마트공장 알려줘")
    follow_up = (await say(client, "예산은?")).json()
    assert any("스마트공장" in t for t in follow_up["texts"])
    assert "set-cookie" not in (await say(client, "고마워요")).headers

    client.cookies.clear()
    fresh = (await say(client, "예산은?")).json()
    assert not any("스마트공장 구축 지원사업" in t for t in fresh["texts"])


async def test_a_tampered_cookie_starts_a_new_session(client: httpx.AsyncClient) -> None:
    await say(client, "스마트공장 알려줘")
    value = client.cookies[COOKIE]
    client.cookies.clear()
    client.cookies.set(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    response = await say(client, "예산은?")
    assert response.status_code == 200
    assert "set-cookie" in response.headers
    assert not any("스마트공장 구축 지원사업" in t for t in response.json()["texts"])


async def test_quick_reply_extra_reaches_the_dialogue(client: httpx.AsyncClient) -> None:
    reply = (await say(client, "스마트공장 알려줘")).json()
    budget = next(q for q in reply["quick_replies"] if q["extra"] and q["extra"].get("intent") == "program_budget")
    answer = (await say(client, budget["message"], **budget["extra"])).json()
    assert answer["texts"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"text": 3}', "application/json", 422),
        (b'{"text": ""}', "application/json", 422),
        (b'{"text": "hi", "extra": {"a": 1}}', "application/json", 422),
        (b'{"text": "hi", "admin": true}', "application/json", 422),
        (b"[]", "application/json", 422),
        ('{"text": "' + "가" * 1001 + '"}', "application/json", 422),
        (b'{"text": "' + b"a" * 70_000 + b'"}', "application/json", 413),
        (b"text=hi", "application/x-www-form-urlencoded", 415),
    ],
)
async def test_bad_input_gets_a_json_error_and_the_chat_keeps_working(
    client: httpx.AsyncClient, body: bytes | str, content_type: str, status: int
) -> None:
    content = body.encode() if isinstance(body, str) else body
    response = await client.post("/webchat/message", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]
    assert (await say(client, "안녕하세요")).status_code == 200


async def test_without_a_dialogue_the_endpoint_says_so(settings: Settings) -> None:
    services = await build_services(settings)
    services.dialogue = None
    app = create_app(settings, services)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        response = await say(client, "안녕하세요")
    await services.close()
    assert response.status_code == 503
    assert response.json()["error"]


async def subscribers(services: Services) -> list:
    from sqlalchemy import select

    from notifier.models import Subscriber

    async with services.db.session() as session:
        return list((await session.scalars(select(Subscriber))).all())


async def test_web_chat_subscribes_an_email_address_once_its_owner_confirms(
    client: httpx.AsyncClient, services: Services, clock, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    first = (await say(client, "알림 신청")).json()
    assert "이메일" in first["texts"][0]
    chips = {q["label"]: q for q in first["quick_replies"]}
    assert "스마트물류" in chips
    chosen = (await say(client, chips["스마트물류"]["message"], **chips["스마트물류"]["extra"])).json()
    assert "이메일 주소를 알려 주세요" in chosen["texts"][0]
    wrong = (await say(client, "kim@@example")).json()
    assert "형식이 아니에요" in wrong["texts"][0]
    asked = (await say(client, "제 메일은 Kim.Lee@Example.co.kr 이에요")).json()
    consent = load_alert_consent().consent(21, 8)
    assert consent in asked["texts"][0]  # the same text Kakao and Telegram show
    assert [q["label"] for q in asked["quick_replies"]] == ["동의하고 구독", "취소"]
    assert await subscribers(services) == [] and inbox.messages == []  # nothing before consent
    agree = asked["quick_replies"][0]
    done = (await say(client, agree["message"], **agree["extra"])).json()
    assert "확인 메일을 보냈어요" in done["texts"][0]
    assert await subscribers(services) == []  # pending: the address's owner has not confirmed
    link = confirm_link(inbox, "kim.lee@example.co.kr")
    clock.advance(minutes=3)
    page = await client.get(link)
    assert page.status_code == 200 and "구독 확인" in page.text
    assert await subscribers(services) == []
    confirmed = await client.post(link)
    assert confirmed.status_code == 200 and "구독이 시작되었어요" in confirmed.text
    [row] = await subscribers(services)
    assert (row.channel, row.address, row.topics, row.active) == (
        "email",
        "kim.lee@example.co.kr",
        ["스마트물류"],
        True,
    )
    assert (row.consent_channel, row.consent_text) == ("web", consent)
    assert row.consent_at == row.confirmed_at == clock.now()
    # Asking again from the chat: no second row, and no second mail within ten minutes.
    await say(client, "스마트물류 알림 신청", intent="subscribe", topic="스마트물류")
    await say(client, "kim.lee@example.co.kr")
    again = (await say(client, "동의")).json()
    assert len(await subscribers(services)) == 1
    assert len(inbox.messages) == 2  # a new request mails a new link (the first one is used)
    await say(client, "스마트물류 알림 신청", intent="subscribe", topic="스마트물류")
    await say(client, "kim.lee@example.co.kr")
    throttled = (await say(client, "동의")).json()
    assert "조금 전에 보내 드렸어요" in throttled["texts"][0] and len(inbox.messages) == 2
    assert "확인 메일" in again["texts"][0]


async def test_web_chat_subscription_needs_consent_and_unsubscribe_points_to_the_link(
    client: httpx.AsyncClient, services: Services
) -> None:
    await say(client, "스마트물류 알림 신청", intent="subscribe", topic="스마트물류")
    await say(client, "a@example.com")
    refused = (await say(client, "아니요")).json()
    assert "신청하지 않았어요" in refused["texts"][0]
    assert await subscribers(services) == []
    stop = (await say(client, "알림 해지")).json()
    assert "수신 거부" in stop["texts"][0] and "링크" in stop["texts"][0]


async def test_a_question_instead_of_an_address_leaves_the_subscription_flow(client: httpx.AsyncClient) -> None:
    await say(client, "스마트물류 알림 신청", intent="subscribe", topic="스마트물류")
    answer = (await say(client, "시험분석비 지원사업 예산")).json()
    assert "25백만원" in answer["texts"][0]
