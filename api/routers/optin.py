"""The e-mail confirmation link (double opt-in): GET shows what is being confirmed and a button,
POST confirms. Mail systems' link scanners open GET links, so only the POST subscribes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep
from api.routers.webchat import CSP, templates
from knowledge_base.consent import load_alert_consent
from notifier.render import format_moment

router = APIRouter(tags=["notifier"])

INVALID = (
    "유효하지 않은 링크예요. 이미 확인했거나 기한이 지났을 수 있어요. 채팅에서 다시 신청하시면 새 링크를 보내 드려요."
)


def _page(request: Request, title: str, code: int = 200, **context: object) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        "subscribe/confirm.html",
        {"title": title, "texts": load_alert_consent(), **context},
        status_code=code,
    )
    # The token is in the URL: no referrer leaves this page, and nothing caches it.
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/subscribe/confirm/{token}", response_class=HTMLResponse)
async def show_confirmation(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    pending = await services.optin.peek(token)
    if pending is None:
        return _page(request, "구독 확인", 404, message=INVALID)
    return _page(request, "구독 확인", pending=pending, expires=format_moment(pending.expires_at))


@router.post("/subscribe/confirm/{token}", response_class=HTMLResponse)
async def confirm(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    view = await services.optin.confirm(token)
    if view is None:
        return _page(request, "구독 확인", 404, message=INVALID)
    return _page(
        request,
        "구독 확인 완료",
        message=(
            f"{', '.join(view.topics)} 공고 알림 구독이 시작되었어요. "
            "그만 받으려면 알림 메일마다 있는 '수신 거부' 링크를 눌러 주세요."
        ),
    )
