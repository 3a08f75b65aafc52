import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from core.settings import Settings
from tests.desk.helpers import client_for, running_app, staff_token

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]


async def test_staff_endpoints_need_a_valid_token(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app) as anonymous:
            response = await anonymous.get("/api/v1/companies")
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        async with client_for(app, token + "x") as wrong:
            assert (await wrong.get("/api/v1/consultations")).status_code == 401
        async with client_for(app, token) as staff:
            me = (await staff.get("/api/v1/staff/me")).json()
            assert me["username"] == "desk1"


async def test_record_a_consultation_and_lose_a_race(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app, token) as client:
            bad = await client.post("/api/v1/companies", json={"name": "김포정밀", "brn": "124-81-00997"})
            assert bad.status_code == 422 and "사업자등록번호" in bad.text
            created = await client.post(
                "/api/v1/companies",
                json={"name": "김포정밀", "brn": "1248100998", "industry": "전기자동차", "location": "김포시 양촌읍"},
            )
            assert created.status_code == 201, created.text
            company = created.json()
            assert company["brn"] == "124-81-00998"
            duplicate = await client.post("/api/v1/companies", json={"name": "다른", "brn": "124-81-00998"})
            assert duplicate.status_code == 409
            consultation = await client.post(
                "/api/v1/consultations",
                json={
                    "company_id": company["id"],
                    "categories": ["수출", "금융"],
                    "notes": "수출바우처 문의",
                    "occurred_at": "2026-11-16T10:00:00+09:00",
                },
            )
            assert consultation.status_code == 201, consultation.text
            body = consultation.json()
            assert body["occurred_at"].startswith("2026-11-16T01:00:00") and body["staff"]["username"] == "desk1"
            url = f"/api/v1/consultations/{body['id']}"
            first = await client.patch(url, json={"version": 1, "status": "진행"})
            assert first.status_code == 200 and first.json()["version"] == 2
            stale = await client.patch(url, json={"version": 1, "status": "완료"})
            assert stale.status_code == 409 and "먼저 수정" in stale.json()["detail"]
            missing_version = await client.patch(url, json={"status": "완료"})
            assert missing_version.status_code == 422
            listed = await client.get("/api/v1/consultations", params={"q": "정밀", "status": "진행"})
            assert listed.json()["total"] == 1
            assert (await client.get("/api/v1/consultations/999999")).status_code == 404
            assert (await client.post("/api/v1/consultations", content=b"{not json")).status_code == 422


async def test_exports_keep_korean_and_neutralise_formulas(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app, token) as client:
            company = (await client.post("/api/v1/companies", json={"name": '=HYPERLINK("x")김포'})).json()
            await client.post(
                "/api/v1/consultations",
                json={"company_id": company["id"], "categories": ["기타"], "notes": "@SUM(1) 한글 메모"},
            )
            await client.post("/api/v1/intents", json={"company_id": company["id"], "program_id": "smart_factory"})
            csv_response = await client.get(
                "/api/v1/exports/consultations.csv", params={"date_from": "2026-11-01", "date_to": "2026-11-30"}
            )
            assert csv_response.status_code == 200
            disposition = csv_response.headers["content-disposition"]
            assert 'filename="consultations_2026-11-01_2026-11-30.csv"' in disposition
            assert unquote(disposition.split("filename*=UTF-8''")[1]) == "상담기록_2026-11-01_2026-11-30.csv"
            raw = csv_response.content
            assert raw.startswith(b"\xef\xbb\xbf")
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
            assert rows[0][0] == "번호" and rows[1][2] == '\'=HYPERLINK("x")김포' and rows[1][8] == "'@SUM(1) 한글 메모"
            xlsx = await client.get("/api/v1/exports/intents.xlsx")
            assert xlsx.status_code == 200
            sheet = load_workbook(io.BytesIO(xlsx.content)).active
            assert sheet.title == "신청의향"
            assert [c.value for c in sheet[1]][:3] == ["번호", "등록일시(KST)", "기업명"]
            assert sheet["C2"].value == '\'=HYPERLINK("x")김포'
            empty = await client.get(
                "/api/v1/exports/consultations.xlsx", params={"date_from": "2020-01-01", "date_to": "2020-01-31"}
            )
            assert load_workbook(io.BytesIO(empty.content)).active.max_row == 1


async def test_audit_trail_is_for_admins_and_masks_contacts(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        staff = await staff_token(services)
        admin = await staff_token(services, "boss", role="admin")
        async with client_for(app, staff) as client:
            made = await client.post(
                "/api/v1/companies",
                json={"name": "김포정밀", "contact_phone": "010-9876-5432", "contact_consent": True},
            )
            company_id = made.json()["id"]
            await client.patch(f"/api/v1/companies/{company_id}", json={"version": 1, "employees": 30})
            assert (await client.get("/api/v1/audit")).status_code == 403
        async with client_for(app, admin) as client:
            trail = await client.get("/api/v1/audit", params={"entity": "company", "entity_id": str(company_id)})
            assert trail.status_code == 200
            items = trail.json()["items"]
            assert [(i["action"], i["actor"]) for i in items] == [("update", "desk1"), ("create", "desk1")]
            assert items[0]["changes"] == {"employees": {"before": None, "after": 30}}
            assert "9876" not in trail.text and "010-9876-5432" not in trail.text


async def test_nul_and_odd_text_in_filters_is_a_clean_answer(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app, token) as client:
            assert (await client.get("/api/v1/intents", params={"program_id": "smart\x00factory"})).status_code == 422
            assert (await client.get("/api/v1/consultations", params={"q": "정밀\x00"})).status_code == 200
            assert (await client.get("/api/v1/companies", params={"q": "%_\\"})).json()["total"] == 0
            odd = await client.post("/api/v1/companies", json={"name": "\x00\u200b "})
            assert odd.status_code == 422
