"""POST /kakao/skill: payload variations, errors, secret header, limits (fixture KB, keyword NLU)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.container import build_services
from bot.context import MAX_USER_KEY
from core.settings import Settings
from tests.bot.kakao_limits import assert_kakao_limits

pytestmark = pytest.mark.db


def payload(utterance: object = "시험분석비 예산", user_id: object = "bot-user-1", **overrides: object) -> dict:
    """A SkillPayload as the builder sends it (shape from shared/reference/channels.md)."""
    body = {
        "intent": {"id": "i1", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"ignoreMe": "true", "surface": "Kakaotalk.plusfriend"},
            "block": {"id": "b1", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {
                "id": user_id,
                "type": "botUserKey",
                "properties": {"plusfriendUserKey": "pf-1", "isFriend": True},
            },
        },
        "bot": {"id": "bot1", "name": "김포 기업지원"},
        "action": {"id": "a1", "name": "skill", "params": {}, "detailParams": {}, "clientExtra": None},
        "contexts": [],
    }
    body.update(overrides)
    return body


async def make_client(settings: Settings, nlu, clock) -> AsyncIterator[httpx.AsyncClient]:
    services = await build_services(settings, clock, nlu=nlu)
    app = create_app(settings, services)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client
    await services.close()


@pytest.fixture
async def client(settings, keyword_nlu, clock) -> AsyncIterator[httpx.AsyncClient]:
    async for c in make_client(settings, keyword_nlu, clock):
        yield c


def text_of(response: httpx.Response) -> str:
    outputs = response.json()["template"]["outputs"]
    return "\n".join(o["simpleText"]["text"] for o in outputs if "simpleText" in o)


async def post(client: httpx.AsyncClient, body: object, **kwargs) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post("/kakao/skill", content=content, headers={"content-type": "application/json", **kwargs})


async def test_full_payload_gets_a_valid_skill_response(client) -> None:
    response = await post(client, payload())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert_kakao_limits(response.json())
    assert "25백만원 (2,500만원)" in text_of(response)


@pytest.mark.parametrize("lang", ["ko", "kr", None])
async def test_lang_variants(client, lang) -> None:
    body = payload()
    body["userRequest"]["lang"] = lang
    assert (await post(client, body)).status_code == 200


@pytest.mark.parametrize("client_extra", [None, {}, {"source": "menu", "nested": {"a": 1}}])
async def test_client_extra_variants(client, client_extra) -> None:
    body = payload()
    body["action"]["clientExtra"] = client_extra
    response = await post(client, body)
    assert response.status_code == 200
    assert_kakao_limits(response.json())


async def test_is_friend_absent_and_object_params(client) -> None:
    body = payload()
    del body["userRequest"]["user"]["properties"]["isFriend"]
    body["action"]["params"] = {"program": {"value": "시험분석비", "origin": "시험분석비"}}
    body["userRequest"]["params"]["surface"] = "BuilderBotTest"
    assert (await post(client, body)).status_code == 200


async def test_minimal_test_payload(client) -> None:
    response = await post(client, {"userRequest": {"utterance": "스마트공장 예산", "user": {"id": "x"}}})
    assert response.status_code == 200
    assert "스마트공장" in text_of(response)


async def test_quick_reply_extra_round_trips_through_client_extra(client) -> None:
    first = await post(client, payload("예산 얼마예요"))
    quick = next(
        q for q in first.json()["template"]["quickReplies"] if q.get("extra", {}).get("program") == "smart_factory"
    )
    body = payload(quick["messageText"])
    body["action"]["clientExtra"] = quick["extra"]
    second = await post(client, body)
    assert "스마트공장 구축 지원사업: 예산" in text_of(second)


async def test_context_carries_over_between_requests_of_the_same_user(client) -> None:
    await post(client, payload("시험분석비 지원사업 알려줘", "u-ctx"))
    response = await post(client, payload("언제 신청해요?", "u-ctx"))
    assert "6월 4주~7월 3주" in text_of(response)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'"just a string"',
        orjson.dumps({"userRequest": "x"}),
        orjson.dumps({"userRequest": {"user": {"id": "x"}}}),
        orjson.dumps({"userRequest": {"utterance": 12, "user": {"id": "x"}}}),
        orjson.dumps({"userRequest": {"utterance": "안녕", "user": {}}}),
        orjson.dumps({"userRequest": {"utterance": "안녕", "user": {"id": ["x"]}}}),
        '{"userRequest": {"utterance": "\ud800"}}'.encode("utf-8", "surrogatepass"),
    ],
)
async def test_bad_bodies_get_a_json_400(client, body: bytes) -> None:
    response = await post(client, body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["error"]


async def test_oversized_body_gets_413(client, settings) -> None:
    huge = payload("가" * settings.max_body_bytes)
    response = await post(client, huge)
    assert response.status_code == 413
    assert "error" in response.json()


async def test_oversized_body_without_content_length_gets_413(client, settings) -> None:
    chunk = orjson.dumps(payload("가" * 1000))

    async def stream():
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = await client.post("/kakao/skill", content=stream(), headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_very_long_utterance_still_answers_within_limits(client) -> None:
    response = await post(client, payload("시험분석비 예산 " * 2000))
    assert response.status_code == 200
    assert_kakao_limits(response.json())


class Boom:
    name = "boom"

    async def parse(self, text: str):
        raise RuntimeError(f"exploded on {text} 010-1234-5678")


async def test_internal_error_gives_a_valid_try_again_reply_and_is_logged(settings, clock, caplog) -> None:
    async for client in make_client(settings, Boom(), clock):
        with caplog.at_level(logging.ERROR, logger="api.routers.kakao"):
            response = await post(client, payload("연락처 010-1234-5678"))
    assert response.status_code == 200
    assert_kakao_limits(response.json())
    assert "다시" in text_of(response)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged
    assert "010-1234-5678" not in logged


async def test_secret_header_is_required_when_configured(settings, keyword_nlu, clock) -> None:
    from pydantic import SecretStr

    secured = settings.model_copy(update={"kakao_skill_secret": SecretStr("s3cret")})
    async for client in make_client(secured, keyword_nlu, clock):
        missing = await post(client, payload())
        wrong = await post(client, payload(), **{"X-Gopa-Skill-Secret": "nope"})
        right = await post(client, payload(), **{"X-Gopa-Skill-Secret": "s3cret"})
    assert missing.status_code == 401
    assert wrong.status_code == 403
    assert missing.headers["content-type"] == "application/json; charset=utf-8"
    assert right.status_code == 200


async def test_other_methods_get_405_and_other_paths_pass_through(client) -> None:
    response = await client.get("/kakao/skill")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]
    assert (await client.get("/healthz")).status_code == 200


async def test_a_user_id_longer_than_the_state_table_allows_gets_a_clear_400(client) -> None:
    assert (await post(client, payload(user_id="k" * MAX_USER_KEY))).status_code == 200
    response = await post(client, payload(user_id="k" * (MAX_USER_KEY + 1)))
    assert response.status_code == 400
    assert f"at most {MAX_USER_KEY} characters" in response.json()["error"]
