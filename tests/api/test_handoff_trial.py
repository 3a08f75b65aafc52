"""The new-user trial of the chat hand-off, through POST /kakao/skill with the real NLU and desk."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from markupsafe import escape

from api.app import create_app
from api.container import build_services
from bot.ports import HandoffRequest
from core.settings import Settings
from desk.exports import consultation_rows
from desk.service import ConsultationFilter
from knowledge_base.loader import load_knowledge_base
from tests.api.test_console import _login as login
from tests.api.test_eligibility_api import kakao, texts
from tests.desk.helpers import client_for, running_app, staff_token

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]


@pytest.fixture
async def real(settings: Settings, clock) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    services = await build_services(settings, clock)
    app = create_app(settings, services)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http, services
    await services.close()


async def test_trial_handoff_keeps_what_the_user_said(real) -> None:
    client, services = real
    for line in ["우리 회사도 받을수있나요", "김포 양촌읍", "금속가공 제조업", "직원 6명이에요", "해당 없음"]:
        final = await kakao(client, line, user="e1")
    picked = next(q for q in final["template"]["quickReplies"] if q["label"] == "상담 신청")
    await kakao(client, picked["messageText"], user="e1", extra=picked.get("extra"))
    for line in ["양촌금속", "hong@yangchon.kr", "콤프레샤 교체 신청하고 싶어요", "동의"]:
        done = await kakao(client, line, user="e1")
    (consultation,) = (await services.desk.list_consultations(ConsultationFilter())).items  # type: ignore[attr-defined]
    company = consultation.company
    assert company.contact_consent is True
    assert company.contact_email == "hong@yangchon.kr"
    assert company.location and "양촌읍" in company.location
    assert company.employees == 6 and company.industry is not None
    assert consultation.program_ids == ["compressor_replacement"], consultation.program_ids
    assert consultation.categories == ["지원사업"]
    shown = f"상담 {consultation.id}"
    assert shown in texts(done)
    (row,) = consultation_rows([consultation], services.desk.program_label)  # type: ignore[attr-defined]
    assert "콤프레샤" in row[7] and "compressor_replacement" not in row[7]
    assert row[4] == "hong@yangchon.kr"


async def test_staff_see_the_handoff_by_its_reference_and_program_names(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        admin = await staff_token(services, "boss", role="admin")
        told = await services.handoff_port.create_handoff(
            HandoffRequest(
                channel="kakao",
                user_key="e1",
                company_name="양촌금속",
                contact="hong@yangchon.kr",
                topic="시험분석 문의",
                program_ids=("test_analysis",),
            )
        )
        name = load_knowledge_base().programs["test_analysis"].name
        async with client_for(app, token) as client:
            (item,) = (await client.get("/api/v1/consultations")).json()["items"]
            assert told == f"상담 {item['id']}" and item["staff"] is None
            moved = await client.patch(f"/api/v1/consultations/{item['id']}", json={"version": 1, "status": "진행"})
            assert moved.status_code == 200 and moved.json()["staff"]["username"] == "desk1"
            exported = await client.get("/api/v1/exports/consultations.csv")
            (row,) = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))[1:]
            assert row[0] == str(item["id"]) and row[7] == name
            assert row[4] == "hong@yangchon.kr"
        async with client_for(app, admin) as client:
            trail = await client.get("/api/v1/audit", params={"entity": "consultation", "entity_id": str(item["id"])})
            update = trail.json()["items"][0]
            assert update["actor"] == "desk1" and update["changes"]["status"] == {"before": "신규", "after": "진행"}
            assert "staff_id" in update["changes"]
        async with client_for(app) as browser:
            await login(browser)
            detail = await browser.get(f"/console/consultations/{item['id']}")
            assert f"상담 {item['id']}" in detail.text
            assert str(escape(name)) in detail.text and "test_analysis" not in detail.text
