from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from core.clock import KST
from core.db import Database
from core.settings import Settings
from desk.bot_port import requester_key
from notifier.intents import RequesterKeyRecipients
from notifier.models import Delivery, Reminder, Subscriber
from notifier.reminders import SchedulerHost
from notifier.service import AnnouncementInput
from tests.desk.helpers import client_for, running_app, staff_token
from tests.fakes.smtp import Inbox, confirm_link

pytestmark = pytest.mark.db


async def test_staff_publish_flow_and_one_step_unsubscribe(
    settings: Settings, db: Database, smtp: tuple[Inbox, int]
) -> None:
    # `db` empties the tables first when the suite runs on PostgreSQL.
    inbox, port = smtp
    settings = settings.model_copy(update={"smtp_port": port, "public_base_url": "https://alimi.example.kr"})
    async with running_app(settings) as (app, services):
        token = await staff_token(services)
        async with client_for(app) as anonymous:
            assert (await anonymous.post("/api/v1/announcements", json={"title": "x"})).status_code == 401
            subscribed = await anonymous.post(
                "/api/v1/subscriptions/email",
                json={"email": "kim@example.kr", "topics": ["스마트물류"], "consent": True},
            )
            assert subscribed.status_code == 202, subscribed.text
            assert subscribed.json() == {
                "channel": "email",
                "topics": ["스마트물류"],
                "active": False,
                "confirmation": "sent",
            }
            assert await services.subscriptions.get("email", "kim@example.kr") is None
            link = confirm_link(inbox, "kim@example.kr")
            assert link.startswith("https://alimi.example.kr/subscribe/confirm/")
            path = link.removeprefix("https://alimi.example.kr")
            page = await anonymous.get(path)
            # A link scanner's GET shows the page and subscribes nobody; the button POSTs.
            assert page.status_code == 200 and "구독 확인" in page.text and "스마트물류" in page.text
            assert '<form method="post"' in page.text
            assert page.headers["cache-control"] == "no-store"
            assert page.headers["referrer-policy"] == "no-referrer"
            assert await services.subscriptions.get("email", "kim@example.kr") is None
            done = await anonymous.post(path)
            assert done.status_code == 200 and "구독이 시작되었어요" in done.text
            assert (await anonymous.post(path)).status_code == 404
            assert (await anonymous.get("/subscribe/confirm/" + "x" * 43)).status_code == 404
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
            unknown = await staff.post(
                "/api/v1/announcements", json={"title": "t", "program_id": "smart_factry", "period_kind": "상시"}
            )
            assert unknown.status_code == 422 and "없는 지원사업이에요: smart_factry" in unknown.text
            script = await staff.post(
                "/api/v1/announcements", json={"title": "t", "url": "javascript:alert(1)", "period_kind": "상시"}
            )
            assert script.status_code == 422 and "https?://" in script.text
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
            for verb in ("publish", "cancel", "close"):
                assert (await staff.post(f"/api/v1/announcements/999/{verb}")).status_code == 404, verb
            assert (await staff.patch("/api/v1/announcements/999", json={"title": "x"})).status_code == 404
            cancelled = f"/api/v1/announcements/{ann_id}"
            assert (await staff.post(f"{cancelled}/publish")).status_code == 409, "a cancelled one is not sent"
            assert (await staff.patch(cancelled, json={"title": "고침"})).status_code == 422
            hook = {"channel": "webhook", "address": "https://partner.example/h", "topics": ["수출"], "consent": True}
            assert (await staff.post("/api/v1/subscribers", json=hook)).status_code == 201
            bad_hook = {**hook, "address": "ftp://x"}
            assert (await staff.post("/api/v1/subscribers", json=bad_hook)).status_code == 422
            listing = (await staff.get("/api/v1/subscribers")).json()
            assert {"channel": "webhook", "active": True, "count": 1} in listing["counts"]
            assert all("address" not in item for item in listing["items"])
        view = await services.subscriptions.get("email", "kim@example.kr")
        assert view is not None and view.active
        async with client_for(app) as anonymous:
            page = await anonymous.get(f"/unsubscribe/{view.unsubscribe_token}")
            assert page.status_code == 200 and "해지" in page.text
            assert (await anonymous.get("/unsubscribe/wrong")).status_code == 404
        view = await services.subscriptions.get("email", "kim@example.kr")
        assert view is not None and not view.active


async def test_a_chat_user_with_an_application_intent_is_reminded_too(settings: Settings, db: Database) -> None:
    async with running_app(settings) as (_, services):
        # Subscribed, but to another topic; the desk holds an intent for the program from this chat user.
        await services.subscriptions.subscribe("telegram", "888", ["관광레저"], consent=True)
        await services.subscriptions.subscribe("telegram", "999", ["관광레저"], consent=True)
        holders = {"innovation_5_industries": {requester_key("telegram", "888")}}

        async def keys_for_program(program_id: str) -> set[str]:
            return holders.get(program_id, set())

        intents = RequesterKeyRecipients(services.db, keys_for_program, requester_key)
        notifier = services.notifier
        ann = await notifier.announcements.create(
            AnnouncementInput(
                title="5대 대표산업 혁신 지원사업",
                topics=("스마트물류",),
                program_id="innovation_5_industries",
                period_kind="dated",
                ends_at=datetime(2026, 11, 30, 18, 0, tzinfo=KST),
            )
        )
        assert await notifier.announcements.publish(ann.id) == 0  # nobody follows 스마트물류
        async with services.db.session() as session:
            d3 = (await session.execute(select(Reminder).where(Reminder.days_before == 3))).scalar_one()
        host = SchedulerHost(services.db, settings, services.clock, intents)
        assert await host.fire(d3.id) == 1
        async with services.db.session() as session:
            (delivery,) = (await session.execute(select(Delivery))).scalars().all()
            subscriber = await session.get(Subscriber, delivery.subscriber_id)
        assert subscriber is not None and subscriber.address == "888"
        assert delivery.message_key == f"rem:{ann.id}:3"
