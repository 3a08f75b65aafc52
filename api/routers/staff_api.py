"""Staff REST API under /api/v1: companies, consultations, application intents, exports.

Thin: validation is in desk.schemas, rules in desk.service; every route needs a staff token
(or a console session).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import AUTH_RESPONSES, AdminDep, ServicesDep, StaffDep
from desk.errors import Conflict, DeskError, Invalid, NotFound, RateLimited, StaleVersion
from desk.exports import (
    CONSULTATION_HEADER,
    INTENT_HEADER,
    consultation_rows,
    content_disposition,
    export_filename,
    intent_rows,
    to_csv,
    to_xlsx,
)
from desk.schemas import (
    AuditOut,
    Category,
    Channel,
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    ConsultationCreate,
    ConsultationOut,
    ConsultationStatus,
    ConsultationUpdate,
    Day,
    IntentCreate,
    IntentOut,
    IntentSource,
    IntentStatus,
    IntentUpdate,
    Problem,
    StaffRef,
)
from desk.service import (
    CompanySort,
    ConsultationFilter,
    ConsultationSort,
    IntentFilter,
    IntentSort,
    Page,
    RecordFilter,
)

router = APIRouter(
    tags=["staff"],
    responses={
        **AUTH_RESPONSES,
        400: {"model": Problem, "description": "본문을 읽을 수 없음 (JSON 아님)"},
        413: {"model": Problem, "description": "본문이 너무 큼"},
        422: {"description": "입력 오류"},
    },
)

T = TypeVar("T")

_STATUS_OF: dict[type[DeskError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    StaleVersion: status.HTTP_409_CONFLICT,
    Conflict: status.HTTP_409_CONFLICT,
    Invalid: 422,
    RateLimited: status.HTTP_429_TOO_MANY_REQUESTS,
}


async def desk_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Registered on the app: domain errors become 404/409/422/429 with a Korean detail."""
    code = next((c for kind, c in _STATUS_OF.items() if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST)
    return JSONResponse({"detail": str(exc)}, status_code=code)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def _page(page: Page, model: type[BaseModel]) -> dict:
    return {
        "items": [model.model_validate(item) for item in page.items],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
SearchText = Annotated[str | None, Query(max_length=100, description="기업명·내용 검색어")]
NOT_FOUND = {404: {"model": Problem, "description": "없음"}}
STALE = {409: {"model": Problem, "description": "버전 충돌 (다른 사람이 먼저 수정)"}}


@router.get("/staff/me", response_model=StaffRef, summary="현재 로그인한 직원")
async def me(staff: StaffDep) -> StaffRef:
    return StaffRef(id=staff.id, username=staff.username, display_name=staff.display_name)


# --- companies ---------------------------------------------------------------------------


@router.get("/companies", response_model=PageOut[CompanyOut], summary="기업 검색")
async def list_companies(
    services: ServicesDep,
    _staff: StaffDep,
    q: SearchText = None,
    sort: CompanySort = "name",
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict:
    page = await services.desk.search_companies(q, limit=limit, offset=offset, sort=sort)
    return _page(page, CompanyOut)


@router.post(
    "/companies",
    response_model=CompanyOut,
    status_code=status.HTTP_201_CREATED,
    summary="기업 등록",
    responses={409: {"model": Problem, "description": "사업자등록번호 중복"}},
)
async def create_company(body: CompanyCreate, services: ServicesDep, staff: StaffDep) -> CompanyOut:
    return CompanyOut.model_validate(await services.desk.create_company(staff, body))


@router.get("/companies/{company_id}", response_model=CompanyOut, summary="기업 조회", responses=NOT_FOUND)
async def get_company(company_id: ItemId, services: ServicesDep, _staff: StaffDep) -> CompanyOut:
    return CompanyOut.model_validate(await services.desk.get_company(company_id))


@router.patch(
    "/companies/{company_id}",
    response_model=CompanyOut,
    summary="기업 수정 (version 필수)",
    responses={**NOT_FOUND, **STALE},
)
async def update_company(company_id: ItemId, body: CompanyUpdate, services: ServicesDep, staff: StaffDep) -> CompanyOut:
    return CompanyOut.model_validate(await services.desk.update_company(staff, company_id, body))


# --- consultations -------------------------------------------------------------------------


def _record_filter(
    q: SearchText = None,
    company_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    date_from: Annotated[Day | None, Query(description="KST 날짜 (포함)")] = None,
    date_to: Annotated[Day | None, Query(description="KST 날짜 (포함)")] = None,
) -> RecordFilter:
    """The query parameters consultations and intents share."""
    return RecordFilter(q=q, company_id=company_id, date_from=date_from, date_to=date_to)


RecordQuery = Annotated[RecordFilter, Depends(_record_filter)]


def _consultation_filter(
    common: RecordQuery,
    status: ConsultationStatus | None = None,
    channel: Channel | None = None,
    category: Category | None = None,
) -> ConsultationFilter:
    return ConsultationFilter(**asdict(common) | {"status": status}, channel=channel, category=category)


@router.get("/consultations", response_model=PageOut[ConsultationOut], summary="상담 기록 목록")
async def list_consultations(
    services: ServicesDep,
    _staff: StaffDep,
    flt: Annotated[ConsultationFilter, Depends(_consultation_filter)],
    sort: ConsultationSort = "-occurred_at",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    page = await services.desk.list_consultations(flt, limit=limit, offset=offset, sort=sort)
    return _page(page, ConsultationOut)


@router.post(
    "/consultations",
    response_model=ConsultationOut,
    status_code=status.HTTP_201_CREATED,
    summary="상담 기록 등록",
)
async def create_consultation(body: ConsultationCreate, services: ServicesDep, staff: StaffDep) -> ConsultationOut:
    return ConsultationOut.model_validate(await services.desk.create_consultation(staff, body))


@router.get(
    "/consultations/{consultation_id}", response_model=ConsultationOut, summary="상담 기록 조회", responses=NOT_FOUND
)
async def get_consultation(consultation_id: ItemId, services: ServicesDep, _staff: StaffDep) -> ConsultationOut:
    return ConsultationOut.model_validate(await services.desk.get_consultation(consultation_id))


@router.patch(
    "/consultations/{consultation_id}",
    response_model=ConsultationOut,
    summary="상담 기록 수정 (version 필수)",
    responses={**NOT_FOUND, **STALE},
)
async def update_consultation(
    consultation_id: ItemId, body: ConsultationUpdate, services: ServicesDep, staff: StaffDep
) -> ConsultationOut:
    return ConsultationOut.model_validate(await services.desk.update_consultation(staff, consultation_id, body))


# --- application intents ---------------------------------------------------------------------


def _intent_filter(
    common: RecordQuery,
    status: IntentStatus | None = None,
    source: IntentSource | None = None,
    program_id: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")] = None,
) -> IntentFilter:
    return IntentFilter(**asdict(common) | {"status": status}, source=source, program_id=program_id)


@router.get("/intents", response_model=PageOut[IntentOut], summary="신청 의향 목록")
async def list_intents(
    services: ServicesDep,
    _staff: StaffDep,
    flt: Annotated[IntentFilter, Depends(_intent_filter)],
    sort: IntentSort = "-created_at",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    page = await services.desk.list_intents(flt, limit=limit, offset=offset, sort=sort)
    return _page(page, IntentOut)


@router.post("/intents", response_model=IntentOut, status_code=status.HTTP_201_CREATED, summary="신청 의향 등록")
async def create_intent(body: IntentCreate, services: ServicesDep, staff: StaffDep) -> IntentOut:
    return IntentOut.model_validate(await services.desk.create_intent(staff, body))


@router.get("/intents/{intent_id}", response_model=IntentOut, summary="신청 의향 조회", responses=NOT_FOUND)
async def get_intent(intent_id: ItemId, services: ServicesDep, _staff: StaffDep) -> IntentOut:
    return IntentOut.model_validate(await services.desk.get_intent(intent_id))


@router.patch(
    "/intents/{intent_id}",
    response_model=IntentOut,
    summary="신청 의향 상태 변경 (version 필수)",
    responses={**NOT_FOUND, **STALE},
)
async def update_intent(intent_id: ItemId, body: IntentUpdate, services: ServicesDep, staff: StaffDep) -> IntentOut:
    return IntentOut.model_validate(await services.desk.update_intent(staff, intent_id, body))


# --- audit trail (admins) -------------------------------------------------------------------


@router.get("/audit", response_model=PageOut[AuditOut], summary="변경 이력 (관리자)")
async def audit_log(
    services: ServicesDep,
    _admin: AdminDep,
    entity: Literal["company", "consultation", "intent", "staff"] | None = None,
    entity_id: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9]+$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    page = await services.desk.list_audit(entity, entity_id, limit=limit, offset=offset)
    return _page(page, AuditOut)


# --- exports -------------------------------------------------------------------------------

EXPORT_LIMIT = 50_000
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_EXPORT_RESPONSES = {200: {"content": {_MEDIA["csv"]: {}, _MEDIA["xlsx"]: {}}, "description": "파일 (CSV: UTF-8 BOM)"}}


ExportFormat = Literal["csv", "xlsx"]
ExportDay = Annotated[Day | None, Query()]


def _file(
    kind: str,
    sheet: str,
    header: Sequence[str],
    rows: list[list[object]],
    fmt: ExportFormat,
    period: tuple[date | None, date | None],
) -> Response:
    body = to_csv(header, rows) if fmt == "csv" else to_xlsx(sheet, header, rows)
    filename, fallback = export_filename(kind, *period, fmt)
    return Response(
        body,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": content_disposition(filename, fallback)},
    )


@router.get(
    "/exports/consultations.{fmt}",
    summary="상담 기록 내보내기 (기간)",
    response_class=Response,
    responses=_EXPORT_RESPONSES,
)
async def export_consultations(
    fmt: ExportFormat, services: ServicesDep, _staff: StaffDep, date_from: ExportDay = None, date_to: ExportDay = None
) -> Response:
    flt = ConsultationFilter(date_from=date_from, date_to=date_to)
    page = await services.desk.list_consultations(flt, limit=EXPORT_LIMIT, sort="occurred_at")
    rows = consultation_rows(page.items, services.desk.program_label)
    return _file("consultations", "상담기록", CONSULTATION_HEADER, rows, fmt, (date_from, date_to))


@router.get(
    "/exports/intents.{fmt}",
    summary="신청 의향 내보내기 (기간)",
    response_class=Response,
    responses=_EXPORT_RESPONSES,
)
async def export_intents(
    fmt: ExportFormat, services: ServicesDep, _staff: StaffDep, date_from: ExportDay = None, date_to: ExportDay = None
) -> Response:
    flt = IntentFilter(date_from=date_from, date_to=date_to)
    page = await services.desk.list_intents(flt, limit=EXPORT_LIMIT, sort="created_at")
    rows = intent_rows(page.items, services.desk.program_label)
    return _file("intents", "신청의향", INTENT_HEADER, rows, fmt, (date_from, date_to))
