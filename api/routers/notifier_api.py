"""Notifier REST API: announcements (staff only), e-mail subscription, and the unsubscribe link."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from api.deps import ServicesDep, require_staff
from knowledge_base.consent import load_alert_consent
from notifier.models import PERIOD_KINDS, Delivery, Subscriber
from notifier.service import AnnouncementError, AnnouncementInput
from notifier.subscriptions import SubscriptionError

router = APIRouter(tags=["notifier"])
staff = [Depends(require_staff)]
# Served at the site root: the link every message carries ({public_base_url}/unsubscribe/{token}).
public_router = APIRouter(tags=["notifier"])


class AnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    body: str = Field("", max_length=20_000)
    url: str | None = Field(None, max_length=1000, pattern=r"^https?://")
    topics: list[str] = Field(default_factory=list, max_length=30)
    program_id: str | None = Field(None, max_length=100)
    organization: str | None = Field(None, max_length=200)
    period_kind: str = Field("unspecified", description=f"one of {', '.join(PERIOD_KINDS)}")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class AnnouncementPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=500)
    body: str | None = Field(None, max_length=20_000)
    url: str | None = Field(None, max_length=1000, pattern=r"^https?://")
    topics: list[str] | None = Field(None, max_length=30)
    program_id: str | None = Field(None, max_length=100)
    organization: str | None = Field(None, max_length=200)
    period_kind: str | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class EmailSubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    topics: list[str] = Field(min_length=1, max_length=30)
    consent: bool = Field(description="수신 동의 (required)")


class SubscriberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern="^(telegram|kakao|email|webhook)$")
    address: str = Field(min_length=1, max_length=500)
    topics: list[str] = Field(min_length=1, max_length=30)
    consent: bool = Field(description="the subscriber's consent, obtained and kept by staff")
    night_consent: bool = False


def _bad(exc: Exception) -> HTTPException:
    return HTTPException(422, detail=str(exc))


@contextmanager
def _announcement_errors(refused: int = 422) -> Iterator[None]:
    """An unknown announcement is a 404; a change its state or rules refuse is `refused`."""
    try:
        yield
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc.args[0]) if exc.args else "없음") from exc
    except AnnouncementError as exc:
        raise HTTPException(refused, detail=str(exc)) from exc


@router.get("/announcements", dependencies=staff)
async def list_announcements(
    services: ServicesDep,
    status_: Annotated[str | None, Query(alias="status", max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    items = await services.notifier.announcements.list(status=status_, limit=limit, offset=offset)
    return [a.to_dict() for a in items]


@router.post("/announcements", dependencies=staff, status_code=status.HTTP_201_CREATED)
async def create_announcement(body: AnnouncementIn, services: ServicesDep) -> dict[str, Any]:
    with _announcement_errors():
        ann = await services.notifier.announcements.create(
            AnnouncementInput(**{**body.model_dump(), "topics": tuple(body.topics)})
        )
    return ann.to_dict()


@router.get("/announcements/{announcement_id}", dependencies=staff)
async def get_announcement(announcement_id: int, services: ServicesDep) -> dict[str, Any]:
    with _announcement_errors():
        ann = await services.notifier.announcements.get(announcement_id)
    async with services.db.session() as session:
        counts = await session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.announcement_id == announcement_id)
            .group_by(Delivery.status)
        )
        deliveries = {state: count for state, count in counts.all()}
    return {**ann.to_dict(), "deliveries": deliveries}


@router.patch("/announcements/{announcement_id}", dependencies=staff)
async def update_announcement(announcement_id: int, body: AnnouncementPatch, services: ServicesDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if "topics" in changes:
        changes["topics"] = tuple(changes["topics"] or ())
    with _announcement_errors():
        ann = await services.notifier.announcements.update(announcement_id, changes)
    return ann.to_dict()


@router.post("/announcements/{announcement_id}/publish", dependencies=staff)
async def publish_announcement(announcement_id: int, services: ServicesDep) -> dict[str, Any]:
    with _announcement_errors(refused=status.HTTP_409_CONFLICT):
        created = await services.notifier.announcements.publish(announcement_id)
    return {"id": announcement_id, "status": "published", "deliveries_created": created}


@router.post("/announcements/{announcement_id}/cancel", dependencies=staff)
async def cancel_announcement(announcement_id: int, services: ServicesDep) -> dict[str, Any]:
    with _announcement_errors():
        ann = await services.notifier.announcements.cancel(announcement_id)
    return ann.to_dict()


@router.post("/announcements/{announcement_id}/close", dependencies=staff)
async def close_announcement(announcement_id: int, services: ServicesDep) -> dict[str, Any]:
    with _announcement_errors():
        ann = await services.notifier.announcements.close(announcement_id)
    return ann.to_dict()


@router.post("/subscriptions/email", status_code=status.HTTP_202_ACCEPTED)
async def subscribe_email(body: EmailSubscriptionIn, services: ServicesDep) -> dict[str, Any]:
    """Anyone may ask, with consent to the standard text: the address subscribes only once its
    owner follows the confirmation link mailed to it. `status`: sent, throttled or failed."""
    consent_text = load_alert_consent().consent(services.settings.quiet_hours_start, services.settings.quiet_hours_end)
    try:
        outcome = await services.optin.request(
            body.email, body.topics, consent=body.consent, consent_channel="api", consent_text=consent_text
        )
    except SubscriptionError as exc:
        raise _bad(exc) from exc
    if outcome.status == "failed":
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="확인 메일을 보내지 못했어요.")
    return {"channel": "email", "topics": list(outcome.topics), "active": False, "confirmation": outcome.status}


@router.post("/subscribers", dependencies=staff, status_code=status.HTTP_201_CREATED)
async def add_subscriber(body: SubscriberIn, services: ServicesDep) -> dict[str, Any]:
    """Staff register a subscriber (a partner's webhook, an e-mail given on a consent form)."""
    try:
        view = await services.subscriptions.subscribe(
            body.channel, body.address, body.topics, consent=body.consent, night_consent=body.night_consent
        )
    except SubscriptionError as exc:
        raise _bad(exc) from exc
    return {"id": view.id, "channel": view.channel, "topics": list(view.topics), "active": view.active}


@router.get("/subscribers", dependencies=staff)
async def list_subscribers(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Counts per channel and state, and a page of subscribers (addresses are not shown)."""
    async with services.db.session() as session:
        counts = await session.execute(
            select(Subscriber.channel, Subscriber.active, func.count()).group_by(Subscriber.channel, Subscriber.active)
        )
        page = await session.execute(select(Subscriber).order_by(Subscriber.id).limit(limit).offset(offset))
        return {
            "counts": [{"channel": c, "active": a, "count": n} for c, a, n in counts.all()],
            "items": [s.to_dict() for s in page.scalars()],
        }


@router.get("/subscriptions/topics")
async def subscription_topics(services: ServicesDep) -> dict[str, list[str]]:
    return {"topics": list(services.subscriptions.known_topics)}


def _page(title: str, text: str, code: int = 200) -> HTMLResponse:
    body = (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p></main></body></html>"
    )
    return HTMLResponse(body, status_code=code)


@public_router.get("/unsubscribe/{token}", response_class=HTMLResponse)
@public_router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, services: ServicesDep) -> HTMLResponse:
    """One step: opening the link ends the subscription (POST for mail clients' one-click)."""
    view = await services.subscriptions.unsubscribe_by_token(token)
    if view is None:
        return _page("알림 해지", "유효하지 않은 링크예요. 이미 해지되었거나 주소가 잘못되었어요.", 404)
    return _page("알림 해지 완료", "김포시 기업지원사업알리미 알림을 해지했어요. 더 이상 보내지 않아요.")
