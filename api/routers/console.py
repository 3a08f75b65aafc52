"""Staff console: server-rendered pages (Jinja2 + htmx, no build step).

Every form carries the session's CSRF token; pages need a console session (login below).
Logic lives in desk.service; this module turns forms into schema objects and back.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError

from api.container import Services
from api.deps import SESSION_STAFF_KEY, ServicesDep, current_staff
from core.clock import KST
from desk import charts
from desk.auth import Staff
from desk.errors import DeskError, RateLimited
from desk.models import CATEGORIES, CHANNELS, CONSULTATION_STATUSES, INDUSTRIES, INTENT_STATUSES
from desk.schemas import CompanyCreate, ConsultationCreate, ConsultationUpdate, IntentCreate, IntentUpdate, safe_text
from desk.service import ConsultationFilter, IntentFilter
from knowledge_base import load_knowledge_base
from knowledge_base.eligibility import (
    FACT_LABELS,
    NOT_REPRESENTATIVE,
    OUTCOMES,
    CompanyFacts,
    UnknownFactValue,
    evaluate,
    load_regions,
    load_rules,
)
from notifier import audience
from notifier.models import PERIOD_KINDS
from notifier.render import build_content, kakao_text, telegram_html
from notifier.service import AnnouncementError, AnnouncementInput, message_key_for

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def _kst(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(KST).strftime(fmt) if moment else ""


templates.env.filters["kst"] = _kst
templates.env.filters["fact_label"] = lambda fact: FACT_LABELS.get(fact, fact)

router = APIRouter(prefix="/console", include_in_schema=False)

CSRF_KEY = "csrf"
PAGE_SIZE = 25


class LoginRequired(Exception):
    pass


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


async def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    expected = request.session.get(CSRF_KEY, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        raise HTTPException(403, detail="CSRF 토큰이 맞지 않습니다. 페이지를 새로 고친 뒤 다시 시도하세요")


async def console_staff(request: Request, staff: Annotated[Staff | None, Depends(current_staff)]) -> Staff:
    if staff is None:
        raise HTTPException(303, headers={"Location": "/console/login?" + urlencode({"next": request.url.path})})
    return staff


ConsoleStaff = Annotated[Staff, Depends(console_staff)]
Csrf = Depends(check_csrf)


def program_choices(services: Services) -> list[tuple[str, str]]:
    """(id, name) of the programs a company can apply to, from the loaded knowledge base."""
    kb = load_knowledge_base(services.settings.kb_dir)
    return [(p.id, p.name) for p in kb.applicable_programs()]


def render(request: Request, name: str, staff: Staff | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        f"console/{name}",
        {
            "staff": staff,
            "csrf_token": csrf_token(request),
            "channels": CHANNELS,
            "categories": CATEGORIES,
            "consultation_statuses": CONSULTATION_STATUSES,
            "intent_statuses": INTENT_STATUSES,
            "industries": INDUSTRIES,
            **context,
        },
        status_code=status_code,
    )


FIELD_LABELS = {
    "name": "기업명",
    "brn": "사업자등록번호",
    "industry": "업종",
    "employees": "종업원 수",
    "location": "소재지",
    "contact_name": "담당자",
    "contact_phone": "연락처",
    "occurred_at": "상담 일시",
    "channel": "상담 경로",
    "categories": "상담 분야",
    "program_ids": "논의 사업",
    "notes": "상담 내용",
    "follow_up_on": "후속 조치일",
    "status": "상태",
    "version": "버전",
}


def errors_of(exc: ValidationError) -> list[str]:
    messages = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        label = FIELD_LABELS.get(field, field)
        messages.append(f"{label}: {message}" if label else message)
    return messages


def _safe_next(target: str) -> str:
    # Only paths inside the console: never an open redirect to another site.
    return target if target.startswith("/console") and not target.startswith("//") else "/console/"


# --- login -----------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, next: str = "/console/") -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next))


@router.post("/login", dependencies=[Csrf])
async def login(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=300)] = "/console/",
) -> Response:
    ip = request.client.host if request.client else "unknown"
    try:
        staff = await services.desk.login(ip, username, password)
    except RateLimited as exc:
        return render(request, "login.html", None, 429, error=str(exc), next=_safe_next(next), username=username)
    if staff is None:
        error = "아이디 또는 비밀번호가 맞지 않습니다"
        return render(request, "login.html", None, 401, error=error, next=_safe_next(next), username=username)
    request.session.clear()
    request.session[SESSION_STAFF_KEY] = staff.id
    csrf_token(request)  # a fresh token per login session
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Csrf])
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/console/login", status_code=303)


# --- dashboard -------------------------------------------------------------------------------


@router.get("/")
async def dashboard(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    desk = services.desk
    per_category = await desk.consultations_per_category_month(6)
    handoffs = await desk.handoffs_per_month(6)
    published = await audience.published_per_month(services.db, services.clock, 6)
    return render(
        request,
        "dashboard.html",
        staff,
        inbox_count=await desk.inbox_count(),
        category_chart=Markup(charts.stacked_bars("월별 분야별 상담 건수", per_category, CATEGORIES)),
        handoff_chart=Markup(charts.bars("월별 챗봇 상담 신청", handoffs, "챗봇 상담 신청")),
        announcement_chart=Markup(charts.bars("월별 발행 공고", published, "발행 공고")),
    )


# --- companies (search-as-you-type) -------------------------------------------------------------


@router.get("/companies/options")
async def company_options(
    request: Request,
    services: ServicesDep,
    staff: ConsoleStaff,
    company_name: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """htmx fragment: matching companies for the <datalist> and a hint whether the name is new."""
    page = await services.desk.search_companies(company_name, limit=10) if company_name.strip() else None
    exact = await services.desk.find_company_by_name(company_name) if company_name.strip() else None
    return render(
        request,
        "_company_options.html",
        staff,
        companies=page.items if page else [],
        exact=exact,
        exact_facts=company_facts_form(exact, services) if exact else {},
        representative_choices=representative_choices(services),
        typed=company_name,
    )


# --- consultations -----------------------------------------------------------------------------


def _date_or_none(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/consultations")
async def consultations(
    request: Request,
    services: ServicesDep,
    staff: ConsoleStaff,
    q: Annotated[str, Query(max_length=100)] = "",
    status: str = "",
    channel: str = "",
    category: str = "",
    date_from: str = "",
    date_to: str = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    flt = ConsultationFilter(
        q=q or None,
        status=status if status in CONSULTATION_STATUSES else None,
        channel=channel if channel in CHANNELS else None,
        category=category if category in CATEGORIES else None,
        date_from=_date_or_none(date_from),
        date_to=_date_or_none(date_to),
    )
    result = await services.desk.list_consultations(flt, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    return render(
        request,
        "consultations.html",
        staff,
        result=result,
        flt=flt,
        q=q,
        page=page,
        pages=max(1, -(-result.total // PAGE_SIZE)),
        query=urlencode(params),
        created=request.query_params.get("created"),
    )


def _blank_form(services: ServicesDep) -> dict[str, Any]:
    now = services.clock.now().astimezone(KST)
    return {"occurred_at": now.strftime("%Y-%m-%dT%H:%M"), "channel": "현장데스크", "status": "신규", "categories": []}


@router.get("/consultations/new")
async def new_consultation(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    return render(
        request,
        "consultation_new.html",
        staff,
        form=_blank_form(services),
        errors=[],
        programs=program_choices(services),
        representative_choices=representative_choices(services),
    )


def _aware(local: str) -> str | None:
    """'2026-11-16T10:30' typed in the console is Seoul time."""
    if not local:
        return None
    return f"{local}:00+09:00" if len(local) == 16 else f"{local}+09:00"


@router.post("/consultations/new", dependencies=[Csrf])
async def create_consultation(request: Request, services: ServicesDep, staff: ConsoleStaff) -> Response:
    form = await request.form()
    values = {key: form.get(key, "") for key in form if key != "categories"}
    values["categories"] = form.getlist("categories")
    values["program_ids"] = [p for p in form.getlist("program_ids") if p]
    errors: list[str] = []
    company_name = str(values.get("company_name", "")).strip()
    desk = services.desk
    company = await desk.find_company_by_name(company_name) if company_name else None
    try:
        new_company = None
        if company is None:
            new_company = CompanyCreate(
                name=company_name,
                brn=values.get("brn") or None,
                industry=values.get("industry") or None,
                employees=values.get("employees") or None,
                location=values.get("location") or None,
                contact_name=values.get("contact_name") or None,
                contact_phone=values.get("contact_phone") or None,
                contact_consent=values.get("contact_consent") == "on",
            )
        consultation = ConsultationCreate(
            company_id=company.id if company else 1,
            occurred_at=_aware(str(values.get("occurred_at", ""))),
            channel=values.get("channel") or "현장데스크",
            categories=values["categories"],
            program_ids=values["program_ids"],
            notes=values.get("notes", ""),
            follow_up_on=values.get("follow_up_on") or None,
            status=values.get("status") or "신규",
        )
    except ValidationError as exc:
        errors = errors_of(exc)
    if not errors:
        try:
            if new_company is not None:
                company = await desk.create_company(staff, new_company)
            assert company is not None
            created = await desk.create_consultation(staff, consultation.model_copy(update={"company_id": company.id}))
        except DeskError as exc:
            errors = [str(exc)]
    if errors:
        return render(
            request,
            "consultation_new.html",
            staff,
            422,
            form=values,
            errors=errors,
            programs=program_choices(services),
            representative_choices=representative_choices(services),
        )
    return RedirectResponse(f"/console/consultations?created={created.id}", status_code=303)


# --- eligibility check on the consultation form (knowledge_base.eligibility, in process) --------


def representative_choices(services: Services) -> list[str]:
    return [*load_rules(services.settings.kb_dir).representative_industries.values, NOT_REPRESENTATIVE]


def company_facts_form(company: Any, services: Services) -> dict[str, str]:
    """The eligibility inputs a registered company already answers (location 'OO시 OO읍', 업종, 인원)."""
    parts = (company.location or "").split()
    facts = {
        "e_sigungu": parts[0] if parts else "",
        "e_eupmyeondong": parts[-1] if len(parts) > 1 and parts[-1][-1] in "읍면동" else "",
        "e_employees": "" if company.employees is None else str(company.employees),
        "e_industry": company.industry or "",
    }
    if company.industry in representative_choices(services):
        facts["e_representative_industry"] = company.industry
    return facts


def _facts_of(form: Any) -> CompanyFacts:
    manufacturer = {"yes": True, "no": False}.get(str(form.get("e_is_manufacturer", "")))
    fields = ("sigungu", "eupmyeondong", "industry", "employees", "representative_industry")
    given = {name: str(form.get(f"e_{name}", "")).strip() for name in fields}
    return CompanyFacts.model_validate(
        {name: value for name, value in given.items() if value} | {"is_manufacturer": manufacturer}
    )


@router.post("/eligibility", dependencies=[Csrf])
async def check_eligibility(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    form = await request.form()
    kb_dir = services.settings.kb_dir
    try:
        result = evaluate(_facts_of(form), load_rules(kb_dir), load_regions(kb_dir), None, load_knowledge_base(kb_dir))
    except ValidationError as exc:
        return render(request, "_eligibility_result.html", staff, 422, error=" · ".join(errors_of(exc)))
    except UnknownFactValue as exc:
        return render(request, "_eligibility_result.html", staff, 422, error=str(exc))
    discussable = {pid for pid, _ in program_choices(services)}
    eligible = [pid for pid in result.by_outcome["신청 가능"] if pid in discussable]
    return render(request, "_eligibility_result.html", staff, result=result, outcomes=OUTCOMES, eligible=eligible)


@router.post("/eligibility/discussed", dependencies=[Csrf])
async def add_eligible_programs(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    """The 'programs discussed' select with the 신청 가능 programs added to what was already chosen."""
    form = await request.form()
    selected = {*form.getlist("program_ids"), *form.getlist("eligible")}
    return render(request, "_program_select.html", staff, programs=program_choices(services), selected=selected)


@router.get("/consultations/{consultation_id}")
async def consultation_detail(
    request: Request, consultation_id: int, services: ServicesDep, staff: ConsoleStaff
) -> HTMLResponse:
    try:
        consultation = await services.desk.get_consultation(consultation_id)
    except DeskError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    return render(
        request,
        "consultation_detail.html",
        staff,
        c=consultation,
        errors=[],
        saved=False,
        program_label=services.desk.program_label,
    )


@router.post("/consultations/{consultation_id}", dependencies=[Csrf])
async def update_consultation(
    request: Request, consultation_id: int, services: ServicesDep, staff: ConsoleStaff
) -> Response:
    form = await request.form()
    errors: list[str] = []
    status_code = 200
    try:
        update = ConsultationUpdate(
            version=form.get("version") or 0,
            status=form.get("status") or None,
            categories=form.getlist("categories") or None,
            notes=form.get("notes", ""),
            follow_up_on=form.get("follow_up_on") or None,
        )
        await services.desk.update_consultation(staff, consultation_id, update)
    except ValidationError as exc:
        errors, status_code = errors_of(exc), 422
    except DeskError as exc:
        errors, status_code = [str(exc)], 409
    back = form.get("back")
    if not errors and isinstance(back, str) and back.startswith("/console/"):
        return RedirectResponse(back, status_code=303)
    consultation = await services.desk.get_consultation(consultation_id)
    return render(
        request,
        "consultation_detail.html",
        staff,
        status_code,
        c=consultation,
        errors=errors,
        saved=not errors,
        program_label=services.desk.program_label,
    )


# --- hand-off inbox ------------------------------------------------------------------------------


@router.get("/inbox")
async def inbox(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    desk = services.desk
    new = await desk.list_consultations(ConsultationFilter(channel="챗봇", status="신규"), limit=100)
    doing = await desk.list_consultations(ConsultationFilter(channel="챗봇", status="진행"), limit=100)
    return render(request, "inbox.html", staff, new=new, doing=doing)


# --- intents board -------------------------------------------------------------------------------


@router.get("/intents")
async def intents(
    request: Request, services: ServicesDep, staff: ConsoleStaff, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    page = await services.desk.list_intents(IntentFilter(q=q or None), limit=500)
    columns = {status: [i for i in page.items if i.status == status] for status in INTENT_STATUSES}
    return render(
        request,
        "intents.html",
        staff,
        columns=columns,
        q=q,
        total=page.total,
        programs=program_choices(services),
        program_label=services.desk.program_label,
    )


@router.post("/intents/new", dependencies=[Csrf])
async def create_intent(request: Request, services: ServicesDep, staff: ConsoleStaff) -> Response:
    form = await request.form()
    try:
        company = await services.desk.find_or_create_company(staff, str(form.get("company_name", "")))
        data = IntentCreate(
            company_id=company.id,
            program_id=form.get("program_id") or None,
            status=form.get("status") or "관심",
            note=form.get("note", ""),
        )
        await services.desk.create_intent(staff, data)
    except (ValidationError, DeskError) as exc:
        message = errors_of(exc)[0] if isinstance(exc, ValidationError) else str(exc)
        return RedirectResponse("/console/intents?" + urlencode({"error": message}), status_code=303)
    return RedirectResponse("/console/intents", status_code=303)


@router.post("/intents/{intent_id}", dependencies=[Csrf])
async def update_intent(request: Request, intent_id: int, services: ServicesDep, staff: ConsoleStaff) -> Response:
    form = await request.form()
    try:
        update = IntentUpdate(version=form.get("version") or 0, status=form.get("status") or None)
        await services.desk.update_intent(staff, intent_id, update)
    except (ValidationError, DeskError) as exc:
        message = errors_of(exc)[0] if isinstance(exc, ValidationError) else str(exc)
        return RedirectResponse("/console/intents?" + urlencode({"error": message}), status_code=303)
    return RedirectResponse("/console/intents", status_code=303)


# --- exports -------------------------------------------------------------------------------------


@router.get("/exports")
async def exports(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    today = services.clock.now().astimezone(KST).date()
    return render(
        request, "exports.html", staff, date_from=(today - timedelta(days=30)).isoformat(), date_to=today.isoformat()
    )


# --- announcements and subscribers (the notifier's services) -------------------------------------

ANNOUNCEMENT_STATUS_LABELS = {"draft": "초안", "published": "발행됨", "cancelled": "취소됨", "closed": "마감"}


@router.get("/announcements")
async def announcements(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    items = await services.notifier.announcements.list(limit=100)
    return render(
        request,
        "announcements.html",
        staff,
        items=items,
        labels=ANNOUNCEMENT_STATUS_LABELS,
        counts=await audience.subscriber_counts(services.db),
    )


def _announcement_form() -> dict[str, Any]:
    return {"topics": [], "period_kind": "dated", "title": "", "body": "", "url": "", "ends_at": "", "program_id": ""}


@router.get("/announcements/new")
async def new_announcement(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    return render(
        request,
        "announcement_new.html",
        staff,
        form=_announcement_form(),
        errors=[],
        known_topics=services.subscriptions.known_topics,
        period_kinds=PERIOD_KINDS,
        programs=program_choices(services),
    )


@router.post("/announcements/new", dependencies=[Csrf])
async def create_announcement(request: Request, services: ServicesDep, staff: ConsoleStaff) -> Response:
    form = await request.form()
    fields = ("title", "body", "url", "period_kind", "ends_at", "program_id")
    values: dict[str, Any] = {key: str(form.get(key, "")) for key in fields}
    values["topics"] = [str(t) for t in form.getlist("topics")]
    programs = program_choices(services)
    errors: list[str] = []
    try:
        ends_at = _aware(values["ends_at"]) if values["period_kind"] == "dated" else None
        data = AnnouncementInput(
            title=safe_text(values["title"]),
            body=safe_text(values["body"]).strip()[:5000],
            url=values["url"].strip() or None,
            topics=tuple(values["topics"]),
            period_kind=values["period_kind"],
            ends_at=datetime.fromisoformat(ends_at) if ends_at else None,
            program_id=values["program_id"] or None,
        )
        created = await services.notifier.announcements.create(data)
    except (AnnouncementError, ValueError) as exc:
        errors = [str(exc)]
    if errors:
        return render(
            request,
            "announcement_new.html",
            staff,
            422,
            form=values,
            errors=errors,
            known_topics=services.subscriptions.known_topics,
            period_kinds=PERIOD_KINDS,
            programs=programs,
        )
    return RedirectResponse(f"/console/announcements/{created.id}", status_code=303)


@router.get("/announcements/{announcement_id}")
async def announcement_detail(
    request: Request, announcement_id: int, services: ServicesDep, staff: ConsoleStaff
) -> HTMLResponse:
    try:
        ann = await services.notifier.announcements.get(announcement_id)
    except LookupError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    unsubscribe = f"{services.settings.public_base_url.rstrip('/')}/unsubscribe/…"
    content = build_content(ann, message_key_for(ann.id), unsubscribe)
    return render(
        request,
        "announcement_detail.html",
        staff,
        ann=ann,
        labels=ANNOUNCEMENT_STATUS_LABELS,
        program_label=services.desk.program_label,
        kakao_text=kakao_text(content),
        # telegram_html escapes every text it puts between its own <b>/<a> tags.
        telegram=Markup(telegram_html(content).replace("\n", "<br>")),
        audience=await audience.audience_count(services.db, ann.topics or []),
        message=request.query_params.get("message"),
    )


@router.post("/announcements/{announcement_id}/{action}", dependencies=[Csrf])
async def announcement_action(
    announcement_id: int, action: str, services: ServicesDep, staff: ConsoleStaff
) -> Response:
    service = services.notifier.announcements
    try:
        if action == "publish":
            created = await service.publish(announcement_id)
            message = f"발행했습니다. 발송 대상 {created}건을 대기열에 넣었습니다."
        elif action == "cancel":
            await service.cancel(announcement_id)
            message = "공고를 취소했습니다. 아직 보내지 않은 알림은 보내지 않습니다."
        else:
            raise HTTPException(404)
    except LookupError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except AnnouncementError as exc:
        message = str(exc)
    url = f"/console/announcements/{announcement_id}?" + urlencode({"message": message})
    return RedirectResponse(url, status_code=303)


@router.get("/subscribers")
async def subscribers(request: Request, services: ServicesDep, staff: ConsoleStaff) -> HTMLResponse:
    return render(
        request,
        "subscribers.html",
        staff,
        counts=await audience.subscriber_counts(services.db),
        topics=await audience.topic_counts(services.db),
        consents=await audience.consent_counts(services.db),
        pending=await audience.pending_optins(services.db, services.clock),
    )
