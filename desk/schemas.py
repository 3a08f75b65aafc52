"""Request and response shapes of the staff desk (shared by the REST API and the console)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from core.text import char_length, clean_display, nfc
from desk.validation import brn_digits, format_brn, is_valid_brn, normalize_phone

Channel = Literal["현장데스크", "전화", "방문", "챗봇", "화상"]
Category = Literal["금융", "수출", "스마트공장", "생산공정", "지원사업", "기타"]
ConsultationStatus = Literal["신규", "진행", "완료"]
IntentStatus = Literal["관심", "신청예정", "신청완료", "선정", "미선정"]
IntentSource = Literal["staff", "bot"]
# The five 대표산업 of the agency's plan come first; the rest are the usual broad sectors.
Industry = Literal[
    "전기자동차",
    "첨단소재부품",
    "지능형기계",
    "스마트물류",
    "관광레저",
    "제조업(기타)",
    "도소매업",
    "서비스업",
    "정보통신업",
    "건설업",
    "기타",
]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_text(value: str) -> str:
    """Drop control characters (PostgreSQL refuses NUL) and refuse lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("올바르지 않은 문자가 있습니다") from exc
    return _CONTROL.sub("", value)


def _one_line(value: object) -> object:
    return clean_display(safe_text(value)) if isinstance(value, str) else value


def _multi_line(value: object) -> object:
    return nfc(safe_text(value)).replace("\r\n", "\n").strip() if isinstance(value, str) else value


MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2100, 12, 31)


def _day_in_range(value: date) -> date:
    if not MIN_DAY <= value <= MAX_DAY:
        raise ValueError("2000-01-01 ~ 2100-12-31 사이의 날짜여야 합니다")
    return value


def _moment_in_range(value: datetime) -> datetime:
    _day_in_range(value.date())
    return value


Day = Annotated[date, AfterValidator(_day_in_range)]
Moment = Annotated[AwareDatetime, AfterValidator(_moment_in_range)]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _max_chars(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if char_length(value) > limit:
            raise ValueError(f"{limit}자 이하로 입력하세요")
        return value

    return check


def _nfc_limit(limit: int) -> Any:
    # Not "maxLength": JSON Schema counts code points of the raw text, while the limit here is
    # counted after NFC and whitespace folding (a decomposed 한글 syllable is one character).
    return Field(description=f"최대 {limit}자 (NFC 기준)", json_schema_extra={"x-max-nfc-chars": limit})


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("비어 있을 수 없습니다")
    return value


def Line(limit: int, *, required: bool = True) -> object:
    """One line of user text: NFC, spaces folded; `limit` counted in NFC characters."""
    checks = [AfterValidator(_max_chars(limit))]
    if required:
        checks.append(AfterValidator(_not_blank))
    return Annotated[str, BeforeValidator(_one_line), *checks, _nfc_limit(limit)]


def Paragraph(limit: int) -> object:
    return Annotated[
        str,
        BeforeValidator(_multi_line),
        AfterValidator(_max_chars(limit)),
        _nfc_limit(limit),
    ]


def _brn(value: str) -> str:
    digits = brn_digits(value)
    if not is_valid_brn(digits):
        raise ValueError("사업자등록번호가 올바르지 않습니다 (10자리, 검증번호 확인)")
    return digits


def _phone(value: str) -> str:
    phone = normalize_phone(value)
    if phone is None:
        raise ValueError("전화번호 형식이 올바르지 않습니다 (예: 010-1234-5678)")
    return phone


CompanyName = Line(100)
Brn = Annotated[str, AfterValidator(_brn), Field(max_length=14, examples=["124-81-00998"])]
Phone = Annotated[str, AfterValidator(_phone), Field(max_length=20, examples=["010-1234-5678"])]
Email = Annotated[
    str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", examples=["name@company.co.kr"])
]
ProgramId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
AnnouncementRef = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class CompanyFields(_In):
    name: CompanyName  # type: ignore[valid-type]
    brn: Brn | None = None
    industry: Industry | None = None
    employees: int | None = Field(default=None, ge=0, le=1_000_000)
    location: Line(100, required=False) | None = Field(default=None, description="시군구·읍면동 (예: 김포시 양촌읍)")  # type: ignore[valid-type]
    contact_name: Line(50, required=False) | None = None  # type: ignore[valid-type]
    contact_phone: Phone | None = None
    contact_email: Email | None = None
    contact_consent: bool = Field(default=False, description="연락처 수집·이용 동의")


def _check_consent(model: BaseModel) -> None:
    has_contact = any(getattr(model, field, None) for field in ("contact_name", "contact_phone", "contact_email"))
    if has_contact and not getattr(model, "contact_consent", False):
        raise ValueError("연락처는 수집·이용 동의가 있을 때만 저장할 수 있습니다")


class CompanyCreate(CompanyFields):
    @model_validator(mode="after")
    def _consent(self) -> CompanyCreate:
        _check_consent(self)
        return self


class CompanyUpdate(_In):
    """Only the fields sent are changed; `version` is the one the client last read."""

    version: int = Field(ge=1, le=2**31 - 1)
    name: CompanyName | None = None  # type: ignore[valid-type]
    brn: Brn | None = None
    industry: Industry | None = None
    employees: int | None = Field(default=None, ge=0, le=1_000_000)
    location: Line(100, required=False) | None = None  # type: ignore[valid-type]
    contact_name: Line(50, required=False) | None = None  # type: ignore[valid-type]
    contact_phone: Phone | None = None
    contact_email: Email | None = None
    contact_consent: bool | None = None


class CompanyRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    brn: str | None
    industry: str | None
    employees: int | None
    location: str | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    contact_consent: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _format(self) -> CompanyOut:
        if self.brn and len(self.brn) == 10:
            self.brn = format_brn(self.brn)
        return self


class ConsultationCreate(_In):
    company_id: DbId
    occurred_at: Moment | None = Field(default=None, description="상담 일시 (시간대 포함); 없으면 지금")
    channel: Channel = "현장데스크"
    categories: Annotated[list[Category], AfterValidator(_unique)] = Field(min_length=1, max_length=6)
    program_ids: Annotated[list[ProgramId], AfterValidator(_unique)] = Field(default_factory=list, max_length=20)
    notes: Paragraph(4000) = ""  # type: ignore[valid-type]
    follow_up_on: Day | None = None
    status: ConsultationStatus = "신규"


class ConsultationUpdate(_In):
    version: int = Field(ge=1, le=2**31 - 1)
    company_id: DbId | None = None
    occurred_at: Moment | None = None
    channel: Channel | None = None
    categories: Annotated[list[Category], AfterValidator(_unique)] | None = Field(
        default=None, min_length=1, max_length=6
    )
    program_ids: Annotated[list[ProgramId], AfterValidator(_unique)] | None = Field(default=None, max_length=20)
    notes: Paragraph(4000) | None = None  # type: ignore[valid-type]
    follow_up_on: Day | None = None
    status: ConsultationStatus | None = None


class StaffRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str


class ConsultationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    company: CompanyRef
    occurred_at: datetime
    channel: str
    categories: list[str]
    program_ids: list[str]
    notes: str
    follow_up_on: date | None
    status: str
    staff: StaffRef | None
    origin: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class IntentCreate(_In):
    company_id: DbId
    program_id: ProgramId | None = None
    announcement_ref: AnnouncementRef | None = None
    status: IntentStatus = "관심"
    note: Paragraph(1000) = ""  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _target(self) -> IntentCreate:
        if not self.program_id and not self.announcement_ref:
            raise ValueError("program_id 또는 announcement_ref 중 하나가 필요합니다")
        return self


class IntentUpdate(_In):
    version: int = Field(ge=1, le=2**31 - 1)
    status: IntentStatus | None = None
    note: Paragraph(1000) | None = None  # type: ignore[valid-type]


class IntentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    company: CompanyRef | None = Field(description="없으면 챗봇 사용자가 아직 기업을 밝히지 않음")
    program_id: str | None
    announcement_ref: str | None
    status: str
    source: str
    note: str
    version: int
    created_at: datetime
    updated_at: datetime


class TokenOut(BaseModel):
    token: str = Field(description="보관하세요: 다시 보여주지 않습니다")
    label: str


class Problem(BaseModel):
    detail: str


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    changes: dict[str, Any] = Field(description="{필드: {before, after}}; 연락처·사업자등록번호는 가려서 기록")
