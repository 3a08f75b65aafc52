"""POST /api/v1/eligibility (the profile table, bad input, OpenAPI) and the chat through /kakao/skill."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.container import build_services
from bot.context import MemoryContextStore
from bot.dialogue import Dialogue
from core.settings import Settings
from knowledge_base.loader import load_knowledge_base
from tests.api.test_kakao_skill import payload
from tests.bot.kakao_limits import assert_kakao_limits
from tests.fakes.nlu import KeywordNlu
from tests.knowledge_base.eligibility_profiles import Profile, outcomes, profile_params

pytestmark = pytest.mark.db
URL = "/api/v1/eligibility"


@pytest.fixture
async def client(settings: Settings, clock) -> AsyncIterator[httpx.AsyncClient]:
    services = await build_services(settings, clock)
    services.dialogue = Dialogue(
        load_knowledge_base(),
        KeywordNlu(),
        MemoryContextStore(clock, settings.dialogue_context_ttl_s),
        clock=clock,
        settings=settings,
    )
    app = create_app(settings, services)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http
    await services.close()


@pytest.mark.parametrize("profile", profile_params())
async def test_profile_table_through_the_api(client, profile: Profile) -> None:
    response = await client.post(URL, json=profile.facts)
    assert response.status_code == 200, response.text
    body = response.json()
    assert outcomes(body["results"]) == profile.expected
    for program in body["results"]:
        assert program["reasons"] and all(r["source"].startswith("김포산업진흥원 2022년") for r in program["reasons"])
        if program["outcome"] == "확인 필요":
            assert program["missing_facts"] or any(r["status"] == "확인 필요" for r in program["reasons"])
    assert "공고문" in body["disclaimer"]


async def test_one_program_and_the_reasons(client) -> None:
    facts = {"sigungu": "김포시", "is_manufacturer": True, "employees": 6, "programs": ["compressor_replacement"]}
    body = (await client.post(URL, json=facts)).json()
    assert body["by_outcome"] == {"신청 가능": ["compressor_replacement"], "확인 필요": [], "불가": []}
    (result,) = body["results"]
    assert result["short_name"] == "콤프레샤 교체"
    assert [r["status"] for r in result["reasons"]] == ["충족", "충족", "충족"]
    assert "코로나19 위기 소공인 콤프레샤 교체 지원" in result["reasons"][2]["quote"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 422),
        (orjson.dumps({"employees": "many"}), 422),
        (orjson.dumps({"employees": -1}), 422),
        (orjson.dumps({"is_ceo_nice": True}), 422),
        (orjson.dumps({"representative_industry": "반도체"}), 422),
        (orjson.dumps({"programs": ["no_such_program"]}), 422),
        (orjson.dumps({"industry": "가" * 5000}), 422),
        (orjson.dumps({"industry": "가" * 100_000}), 413),
    ],
)
async def test_bad_input_gets_a_clear_4xx_and_the_service_keeps_running(client, body: bytes, status: int) -> None:
    response = await client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert "detail" in response.json()
    assert (await client.post(URL, json={"sigungu": "김포시"})).status_code == 200


async def test_documented_in_openapi(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][URL]["post"]
    assert operation["tags"] == ["eligibility"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"employees", "is_manufacturer", "representative_industry", "programs"} <= set(schema["properties"])
    assert schema["examples"]
    assert "200" in operation["responses"] and "422" in operation["responses"]


async def kakao(client: httpx.AsyncClient, text: str, user: str = "kakao-user-1", extra: dict | None = None) -> dict:
    request = payload(text, user)
    request["action"]["clientExtra"] = extra
    response = await client.post(
        "/kakao/skill", content=orjson.dumps(request), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert_kakao_limits(body)
    return body


def texts(body: dict) -> str:
    return "\n".join(o["simpleText"]["text"] for o in body["template"]["outputs"] if "simpleText" in o)


def cards(body: dict) -> dict[str, str]:
    """A carousel's cards, or the one textCard a single card is sent as."""
    for output in body["template"]["outputs"]:
        if "carousel" in output:
            return {item["title"]: item["description"] for item in output["carousel"]["items"]}
        if "textCard" in output:
            return {output["textCard"]["title"]: output["textCard"]["description"]}
    raise AssertionError(f"no cards in {body}")


async def test_done_when_through_the_kakao_skill(client) -> None:
    await kakao(client, "우리 회사도 받을수있나요")
    answers = ["김포 양촌읍", "금속가공 제조업", "직원 6명이에요", "해당 없음"]
    for answer in answers[:-1]:
        assert "carousel" not in str(await kakao(client, answer))
    final = await kakao(client, answers[-1])
    shown = cards(final)
    assert "소공인" in shown["✅ 콤프레샤 교체"]
    assert "먼저 선정" in shown["❓ 스마트공장 지원"]
    assert "✅ 신청 가능: 노후생산설비 교체, 콤프레샤 교체" in texts(final)
    why = await kakao(client, "판정 근거: 스마트공장 지원")
    assert "중소벤처기업부 「스마트공장 보급·확산사업」 선정된 김포시 기업 대상" in texts(why)


@pytest.mark.parametrize("profile", profile_params(chat_only=True))
async def test_profile_table_through_the_kakao_skill(client, profile: Profile) -> None:
    for line in profile.chat:
        body = await kakao(client, line, user=f"user-{profile.id}")
    kb = load_knowledge_base()
    marks = {"신청 가능": "✅", "확인 필요": "❓", "불가": "❌"}
    expected = {f"{marks[outcome]} {kb.program(pid).short_name}" for pid, outcome in profile.chat_expected.items()}
    assert set(cards(body)) == expected


async def test_a_correction_through_the_kakao_skill(client) -> None:
    for line in ["받을수있나요", "김포시", "제조업", "직원 7명", "해당 없음"]:
        body = await kakao(client, line)
    assert "✅ 콤프레샤 교체" in cards(body)
    corrected = await kakao(client, "아 직원 12명이에요")
    assert "❌ 콤프레샤 교체" in cards(corrected)
    assert "상시근로자 12명" in cards(corrected)["❌ 콤프레샤 교체"]


@pytest.fixture
async def wired(settings: Settings, clock) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    """The app with the real desk hand-off port behind the dialogue (keyword NLU for predictability)."""
    services = await build_services(settings, clock)
    services.dialogue = Dialogue(
        load_knowledge_base(),
        KeywordNlu(),
        MemoryContextStore(clock, settings.dialogue_context_ttl_s),
        handoff=services.handoff_port,
        subscriptions=services.subscription_port,
        clock=clock,
        settings=settings,
    )
    app = create_app(settings, services)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http, services
    await services.close()


async def tap(client: httpx.AsyncClient, body: dict, label: str) -> dict:
    """Taps a quick reply of a Kakao response: its messageText with its extra as clientExtra."""
    picked = next(q for q in body["template"]["quickReplies"] if q["label"] == label)
    return await kakao(client, picked["messageText"], extra=picked.get("extra"))


async def test_next_steps_reach_the_desk(wired) -> None:
    from desk.service import ConsultationFilter, IntentFilter

    client, services = wired
    for line in ["우리 회사도 받을수있나요", "김포 양촌읍", "금속가공 제조업", "직원 6명이에요", "해당 없음"]:
        final = await kakao(client, line)
    recorded = await tap(client, final, "신청 의사 등록")
    assert "접수번호" in texts(recorded)
    intents = await services.desk.list_intents(IntentFilter())  # type: ignore[attr-defined]
    assert sorted(i.program_id for i in intents.items) == ["compressor_replacement", "old_equipment_replacement"]
    await tap(client, recorded, "상담 신청")
    for line in ["김포정밀", "010-1234-5678", "콤프레샤 교체 서류 문의", "동의"]:
        done = await kakao(client, line)
    assert "접수" in texts(done)
    consultations = await services.desk.list_consultations(ConsultationFilter())  # type: ignore[attr-defined]
    (consultation,) = consultations.items
    assert "상시근로자 6명" in consultation.notes
    assert "신청 가능: 노후생산설비 교체, 콤프레샤 교체" in consultation.notes
