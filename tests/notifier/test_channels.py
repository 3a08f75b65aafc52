from __future__ import annotations

import hmac
import itertools
import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.clock import FixedClock
from core.db import Database
from core.settings import Settings
from notifier.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    KakaoEventChannel,
    TelegramChannel,
    WebhookChannel,
    sign_webhook,
)
from notifier.models import Delivery
from notifier.render import Content
from notifier.service import AnnouncementInput, AnnouncementService
from notifier.subscriptions import SubscriptionService
from notifier.worker import DeliveryWorker, Pacer
from tests.fakes.kakao_event_api import FakeKakaoEventApi
from tests.fakes.telegram_server import FakeTelegram


async def test_pacer_keeps_overall_and_per_chat_rates() -> None:
    sends: list[tuple[float, str]] = []
    now = 0.0

    async def record(delay: float) -> None:
        sends.append((now + delay, current))

    pacer = Pacer(30, 1, monotonic=lambda: now, sleep=record)
    for i in range(120):
        current = f"chat-{i % 4}"  # 4 chats, so the per-chat limit binds
        before = len(sends)
        await pacer.acquire(current)
        if len(sends) == before:
            sends.append((now, current))
    times = sorted(t for t, _ in sends)
    assert all(sum(1 for t in times if start <= t < start + 1) <= 30 for start in times)
    for chat in {c for _, c in sends}:
        mine = sorted(t for t, c in sends if c == chat)
        assert all(b - a >= 1 - 1e-9 for a, b in itertools.pairwise(mine))
    assert max(times) == pytest.approx(29.1)  # 30 per chat at 1/s, the 4 chats 1/30 s apart


@pytest.mark.db
async def test_kakao_event_api_batches_100_users_and_records_the_task(
    db: Database, settings: Settings, subscriptions: SubscriptionService, clock: FixedClock
) -> None:
    fake = FakeKakaoEventApi()
    for i in range(250):
        await subscriptions.subscribe("kakao", f"bk-{i:03d}", ["스마트물류"], consent=True)
    service = AnnouncementService(db, settings, clock)
    ann = await service.create(AnnouncementInput(title="물류 공고", topics=("스마트물류",), period_kind="상시"))
    assert await service.publish(ann.id) == 250
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url="http://kakao")
    channel = KakaoEventChannel(client, "http://kakao", "bot-1", "kakao-rest-key")
    fake.fail_next = 1
    worker = DeliveryWorker(db, settings.model_copy(update={"delivery_batch_size": 500}), clock, {"kakao": channel})
    await worker.drain()
    clock.advance(hours=1)
    await worker.drain()
    await channel.close()
    assert sorted(len(call["user"]) for call in fake.calls) == [50, 100, 100]
    assert sorted(fake.users()) == sorted(f"bk-{i:03d}" for i in range(250))
    assert "알림 해지" in fake.calls[0]["event"]["data"]["text"]
    async with db.session() as session:
        rows = (await session.execute(select(Delivery))).scalars().all()
    assert {r.status for r in rows} == {"sent"}
    assert {r.external_id for r in rows} == {call["taskId"] for call in fake.calls}


@pytest.mark.db
async def test_webhook_is_signed_over_timestamp_and_body(
    db: Database, settings: Settings, subscriptions: SubscriptionService, clock: FixedClock
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    await subscriptions.subscribe("webhook", "https://partner.example/hook", ["스마트물류"], consent=True)
    service = AnnouncementService(db, settings, clock)
    ann = await service.create(
        AnnouncementInput(title="물류 공고 “따옴표”", topics=("스마트물류",), period_kind="상시")
    )
    await service.publish(ann.id)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver))
    channel = WebhookChannel(client, "s3cret", clock)
    await DeliveryWorker(db, settings, clock, {"webhook": channel}).drain()
    await channel.close()
    ((headers, body),) = received
    assert headers[TIMESTAMP_HEADER.lower()] == str(int(datetime(2026, 3, 2, 1, 0, tzinfo=UTC).timestamp()))
    expected = sign_webhook("s3cret", headers[TIMESTAMP_HEADER.lower()], body)
    assert hmac.compare_digest(headers[SIGNATURE_HEADER.lower()], expected)
    assert not hmac.compare_digest(sign_webhook("s3cret", "1", body), expected)
    payload = json.loads(body)
    assert payload["title"] == "물류 공고 “따옴표”" and payload["unsubscribe_url"].endswith(
        (await subscriptions.get("webhook", "https://partner.example/hook")).unsubscribe_token  # type: ignore[union-attr]
    )


async def test_telegram_network_failure_is_transient(telegram: FakeTelegram) -> None:
    channel = TelegramChannel(telegram.token, telegram.base_url, pool_size=2)
    await channel.start()
    content = _content()
    try:
        assert (await channel.send(["77"], content)).outcome == "sent"
        telegram.__exit__()  # the server goes away: connection refused from now on
        result = await channel.send(["77"], content)
    finally:
        await channel.close()
    assert result.outcome == "transient"
    assert result.detail.startswith("텔레그램:")
    assert telegram.count("77") == 1


def _content() -> Content:
    return Content(
        subject="[새 공고] 물류 공고",
        headline="[새 공고]",
        title="물류 공고",
        lines=("접수 기간: 상시 접수",),
        url=None,
        unsubscribe_url="https://alimi.example.kr/unsubscribe/t1",
        message_key="ann:1",
    )
