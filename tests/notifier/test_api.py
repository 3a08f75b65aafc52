from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import Database
from core.settings import Settings
from notifier.models import Reminder
from tests.desk.helpers import client_for, running_app, staff_token

pytestmark = pytest.mark.db


async def test_staff_publish_flow_and_one_step_unsubscribe(settings: Settings, db: Database) -> None:
    # `db` empties the tables first when the suite runs on PostgreSQL.
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app) as anonymous:
            assert (await anonymous.post("/api/v1/announcements", json={"title": "x"})).status_code == 401
            subscribed = await anonymous.post(
                "/api/v1/subscriptions/email",
                json={"email": "kim@example.kr", "topics": ["스마트물류"], "consent": True},
            )
            assert subscribed.status_code == 201, subscribed.text
            no_consent = {"email": "lee@example.kr", "topics": ["스마트물류"], "consent": False}
            refused = await anonymous.post("/api/v1/subscriptions/email", json=no_consent)
            assert refused.status_code == 422 and "동의" in refused.text
            assert (await anonymous.post("/api/v1/subscriptions/email", content=b"{not json")).status_code == 422
        async with client_for(app, token) as staff:
            bad = await staff.post("/api/v1/announcements", json={"title": "마감", "period_kind": "dated"})
            assert bad.status_code == 422 and "마감" in bad.text
            naive = await staff.post(
                "/api/v1/announcements", json={"title": "t", "period_kind": "dated", "ends_at": "2026-12-01T18:00:00"}
            )
            assert naive.status_code == 422
            created = await staff.post(
                "/api/v1/announcements",
                json={
                    "title": "스마트물류 혁신 지원",
                    "topics": ["스마트물류"],
                    "period_kind": "dated",
                    "ends_at": "2026-11-30T18:00:00+09:00",
                },
            )
            assert created.status_code == 201, created.text
            ann_id = created.json()["id"]
            first = await staff.post(f"/api/v1/announcements/{ann_id}/publish")
            again = await staff.post(f"/api/v1/announcements/{ann_id}/publish")
            assert (first.json()["deliveries_created"], again.json()["deliveries_created"]) == (1, 0)
            detail = (await staff.get(f"/api/v1/announcements/{ann_id}")).json()
            assert detail["deliveries"] == {"pending": 1}
            async with services.db.session() as session:
                due = sorted(r.days_before for r in (await session.execute(select(Reminder))).scalars())
            assert due == [0, 1, 3, 7]  # the clock says 2026-11-16: all four are still ahead
            moved = await staff.patch(f"/api/v1/announcements/{ann_id}", json={"ends_at": "2026-11-19T18:00:00+09:00"})
            assert moved.status_code == 200, moved.text
            async with services.db.session() as session:
                rows = {r.days_before: r.status for r in (await session.execute(select(Reminder))).scalars()}
            assert rows == {7: "cancelled", 3: "cancelled", 1: "scheduled", 0: "scheduled"}  # D-3 = today 09:00, past
            assert (await staff.post(f"/api/v1/announcements/{ann_id}/cancel")).json()["status"] == "cancelled"
            async with services.db.session() as session:
                states = {r.status for r in (await session.execute(select(Reminder))).scalars()}
            assert states == {"cancelled"}
            assert (await staff.get("/api/v1/announcements/999")).status_code == 404
        view = await services.subscriptions.get("email", "kim@example.kr")
        assert view is not None and view.active
        async with client_for(app) as anonymous:
            page = await anonymous.get(f"/unsubscribe/{view.unsubscribe_token}")
            assert page.status_code == 200 and "해지" in page.text
            assert (await anonymous.get("/unsubscribe/wrong")).status_code == 404
        view = await services.subscriptions.get("email", "kim@example.kr")
        assert view is not None and not view.active
