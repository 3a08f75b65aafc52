"""The staff desk: accounts, companies, consultations, application intents, statistics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from core.clock import KST, Clock, ensure_utc
from core.db import Database
from core.text import clean_display, nfc
from desk import audit
from desk.auth import (
    MIN_PASSWORD_CHARS,
    LoginRateLimiter,
    Staff,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from desk.errors import Conflict, Invalid, NotFound, RateLimited, StaleVersion
from desk.models import (
    ApiToken,
    ApplicationIntent,
    AuditEntry,
    Company,
    Consultation,
    ConsultationCategory,
    ConsultationProgram,
    StaffUser,
)
from desk.schemas import (
    CompanyCreate,
    CompanyUpdate,
    ConsultationCreate,
    ConsultationUpdate,
    IntentCreate,
    IntentUpdate,
)

CompanySort = Literal["name", "-name", "created_at", "-created_at"]
ConsultationSort = Literal["occurred_at", "-occurred_at", "company", "-company", "status", "-status"]
IntentSort = Literal["created_at", "-created_at", "status", "-status", "company", "-company"]

_COMPANY_FIELDS = (
    "name",
    "brn",
    "industry",
    "employees",
    "location",
    "contact_name",
    "contact_phone",
    "contact_email",
    "contact_consent",
)


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class RecordFilter:
    """What consultations and intents are both filtered by."""

    q: str | None = None  # company name or the record's notes
    status: str | None = None
    company_id: int | None = None
    date_from: date | None = None  # inclusive, a KST calendar day
    date_to: date | None = None  # inclusive, a KST calendar day


@dataclass(frozen=True)
class ConsultationFilter(RecordFilter):
    channel: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class IntentFilter(RecordFilter):
    source: str | None = None
    program_id: str | None = None


def _like(q: str) -> str:
    escaped = nfc(q.replace("\x00", "")).strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def kst_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=KST)


def _order(column: Any, descending: bool) -> Any:
    return column.desc() if descending else column.asc()


def _filter_records(
    query: Select[Any],
    flt: RecordFilter,
    model: Any,
    notes: Any,
    moment: Any,
    equal: Sequence[tuple[Any, object]] = (),
) -> Select[Any]:
    """The filters consultations and intents share: `q` searches the company name and `notes`,
    the KST days apply to `moment`, and each (column, value) in `equal` with a value must match."""
    if flt.q and flt.q.strip():
        pattern = _like(flt.q)
        query = query.where(or_(Company.name.ilike(pattern, escape="\\"), notes.ilike(pattern, escape="\\")))
    for column, value in ((model.status, flt.status), (model.company_id, flt.company_id), *equal):
        if value:
            query = query.where(column == value)
    if flt.date_from:
        query = query.where(moment >= kst_day_start(flt.date_from))
    if flt.date_to:
        query = query.where(moment < kst_day_start(flt.date_to + timedelta(days=1)))
    return query


def _sorted(query: Select[Any], sort: str, columns: dict[str, Any], model: Any) -> Select[Any]:
    """`sort` is a key of `columns`, '-' first for descending; newest id breaks ties."""
    return query.order_by(_order(columns[sort.lstrip("-")], sort.startswith("-")), model.id.desc())


def _snapshot(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {field: getattr(row, field) for field in fields}


_STALE_MESSAGE = "다른 사람이 먼저 수정했습니다. 새로 불러온 뒤 다시 저장하세요"
_NOT_FOUND = {
    Company: "기업을 찾을 수 없습니다",
    Consultation: "상담 기록을 찾을 수 없습니다",
    ApplicationIntent: "신청 의향을 찾을 수 없습니다",
}
R = TypeVar("R", Company, Consultation, ApplicationIntent)


async def _load(session: AsyncSession, model: type[R], item_id: int) -> R:
    row = await session.get(model, item_id)
    if row is None:
        raise NotFound(_NOT_FOUND[model])
    return row


async def _for_update(session: AsyncSession, model: type[R], item_id: int, version: int) -> R:
    """The row to change, if the caller edited the version that is current (optimistic locking)."""
    row = await _load(session, model, item_id)
    if row.version != version:
        raise StaleVersion(_STALE_MESSAGE)
    return row


def _to_staff(user: StaffUser) -> Staff:
    return Staff(id=user.id, username=user.username, display_name=user.display_name, role=user.role)


class DeskService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        program_exists: Callable[[str], bool] | None = None,
        login_limit_per_min: int = 5,
        program_name: Callable[[str], str | None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.login_limiter = LoginRateLimiter(clock, login_limit_per_min)
        # None until a knowledge base is loaded; then program ids must name real programs.
        self._program_exists = program_exists
        self._program_name = program_name

    # --- staff accounts -------------------------------------------------------------

    async def create_staff(self, username: str, display_name: str, password: str, role: str = "staff") -> Staff:
        username = nfc(username).strip()
        if not username or len(username) > 64:
            raise Invalid("사용자 이름은 1~64자여야 합니다")
        if role not in ("staff", "admin"):
            raise Invalid("역할은 staff 또는 admin 입니다")
        if len(password) < MIN_PASSWORD_CHARS:
            raise Invalid(f"비밀번호는 {MIN_PASSWORD_CHARS}자 이상이어야 합니다")
        async with self.db.session() as session:
            user = StaffUser(
                username=username,
                display_name=clean_display(display_name) or username,
                password_hash=hash_password(password),
                role=role,
                active=True,
                created_at=self.clock.now(),
            )
            session.add(user)
            try:
                await session.flush()
            except IntegrityError as exc:
                raise Conflict("이미 있는 사용자 이름입니다") from exc
            staff = _to_staff(user)
            audit.record(session, self.clock, username, "create", "staff", user.id, {"role": {"after": role}})
            await session.commit()
            return staff

    async def authenticate(self, username: str, password: str) -> Staff | None:
        async with self.db.session() as session:
            wanted = nfc(username.replace("\x00", "")).strip()
            user = await session.scalar(select(StaffUser).where(StaffUser.username == wanted))
            if user is None or not user.active or not verify_password(user.password_hash, password):
                return None
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            audit.record(session, self.clock, _to_staff(user), "login", "staff", user.id, {})
            await session.commit()
            return _to_staff(user)

    async def login(self, ip: str, username: str, password: str) -> Staff | None:
        """authenticate() behind the per-(IP, user name) rate limit."""
        if not self.login_limiter.allow(ip, username):
            raise RateLimited("로그인 시도가 너무 많습니다. 1분 뒤 다시 시도하세요")
        staff = await self.authenticate(username, password)
        if staff is not None:
            self.login_limiter.reset(ip, username)
        return staff

    async def issue_token(self, username: str, label: str = "") -> str:
        async with self.db.session() as session:
            user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is None or not user.active:
                raise NotFound("사용자를 찾을 수 없습니다")
            token, hashed = new_token()
            session.add(ApiToken(staff_id=user.id, token_hash=hashed, label=label[:64], created_at=self.clock.now()))
            audit.record(session, self.clock, _to_staff(user), "issue_token", "staff", user.id, {"label": label})
            await session.commit()
            return token

    async def staff_for_token(self, token: str) -> Staff | None:
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(ApiToken, StaffUser)
                    .join(StaffUser, StaffUser.id == ApiToken.staff_id)
                    .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
                )
            ).first()
            if row is None or not row.StaffUser.active:
                return None
            return _to_staff(row.StaffUser)

    async def staff_by_id(self, staff_id: int) -> Staff | None:
        async with self.db.session() as session:
            user = await session.get(StaffUser, staff_id)
            return _to_staff(user) if user is not None and user.active else None

    # --- companies --------------------------------------------------------------------

    async def create_company(self, actor: Staff | str, data: CompanyCreate) -> Company:
        async with self.db.writing(), self.db.session() as session:
            now = self.clock.now()
            company = Company(**data.model_dump(), version=1, created_at=now, updated_at=now)
            snapshot = _snapshot(company, _COMPANY_FIELDS)
            await self._insert(session, actor, "company", company, snapshot, "이미 등록된 사업자등록번호입니다")
            return company

    async def get_company(self, company_id: int) -> Company:
        return await self._get(Company, company_id)

    async def update_company(self, actor: Staff, company_id: int, data: CompanyUpdate) -> Company:
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        async with self.db.session() as session:
            company = await _for_update(session, Company, company_id, data.version)
            before = _snapshot(company, _COMPANY_FIELDS)
            for field, value in changes.items():
                setattr(company, field, value)
            if (company.contact_name or company.contact_phone or company.contact_email) and not company.contact_consent:
                raise Invalid("연락처는 수집·이용 동의가 있을 때만 저장할 수 있습니다")
            after = _snapshot(company, _COMPANY_FIELDS)
            if before == after:
                return company
            company.updated_at = self.clock.now()
            audit.record(session, self.clock, actor, "update", "company", company.id, audit.diff(before, after))
            await self._commit_versioned(session, "이미 등록된 사업자등록번호입니다")
            return company

    async def search_companies(
        self, q: str | None = None, *, limit: int = 20, offset: int = 0, sort: CompanySort = "name"
    ) -> Page[Company]:
        query = select(Company)
        if q and q.strip():
            pattern = _like(q)
            conditions = [Company.name.ilike(pattern, escape="\\")]
            digits = "".join(ch for ch in q if ch.isdigit())
            if len(digits) >= 3:
                conditions.append(Company.brn.like(f"%{digits}%"))
            query = query.where(or_(*conditions))
        column = Company.name if sort.lstrip("-") == "name" else Company.created_at
        query = query.order_by(_order(column, sort.startswith("-")), Company.id)
        return await self._page(query, limit, offset)

    async def find_company_by_name(self, name: str) -> Company | None:
        """The oldest company with exactly this (display-cleaned) name."""
        async with self.db.session() as session:
            wanted = clean_display(name.replace("\x00", ""))[:100]
            query = select(Company).where(Company.name == wanted).order_by(Company.id).limit(1)
            return await session.scalar(query)

    async def find_or_create_company(self, actor: Staff | str, name: str) -> Company:
        cleaned = clean_display(name)[:100]
        if not cleaned:
            raise Invalid("기업 이름이 필요합니다")
        existing = await self.find_company_by_name(cleaned)
        return existing or await self.create_company(actor, CompanyCreate(name=cleaned))

    # --- consultations ------------------------------------------------------------------

    def program_label(self, program_id: str) -> str:
        """What staff read for a program: its knowledge-base name, the id only when the KB lacks it."""
        return (self._program_name(program_id) if self._program_name else None) or program_id

    def program_is_known(self, program_id: str) -> bool:
        return self._program_exists is None or self._program_exists(program_id)

    def _check_programs(self, program_ids: Sequence[str]) -> None:
        if self._program_exists is None:
            return
        unknown = [pid for pid in program_ids if not self._program_exists(pid)]
        if unknown:
            raise Invalid(f"지식베이스에 없는 사업 ID: {', '.join(unknown)}")

    async def create_consultation(
        self,
        actor: Staff | str,
        data: ConsultationCreate,
        *,
        origin: str | None = None,
        requester_key: str | None = None,
    ) -> Consultation:
        self._check_programs(data.program_ids)
        async with self.db.writing(), self.db.session() as session:
            if await session.get(Company, data.company_id) is None:
                raise Invalid("기업을 찾을 수 없습니다")
            now = self.clock.now()
            consultation = Consultation(
                company_id=data.company_id,
                occurred_at=ensure_utc(data.occurred_at) if data.occurred_at else now,
                channel=data.channel,
                notes=data.notes,
                follow_up_on=data.follow_up_on,
                status=data.status,
                staff_id=actor.id if isinstance(actor, Staff) else None,
                origin=origin,
                requester_key=requester_key,
                version=1,
                created_at=now,
                updated_at=now,
                category_rows=[ConsultationCategory(category=c) for c in data.categories],
                program_rows=[ConsultationProgram(program_id=p) for p in data.program_ids],
            )
            await self._insert(session, actor, "consultation", consultation, self._consultation_snapshot(consultation))
        return await self.get_consultation(consultation.id)

    @staticmethod
    def _consultation_snapshot(c: Consultation) -> dict[str, Any]:
        return {
            "company_id": c.company_id,
            "occurred_at": c.occurred_at,
            "channel": c.channel,
            "categories": sorted(c.categories),
            "program_ids": sorted(c.program_ids),
            "notes": c.notes,
            "follow_up_on": c.follow_up_on,
            "status": c.status,
            "staff_id": c.staff_id,
        }

    async def get_consultation(self, consultation_id: int) -> Consultation:
        return await self._get(Consultation, consultation_id)

    async def update_consultation(self, actor: Staff, consultation_id: int, data: ConsultationUpdate) -> Consultation:
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        if "program_ids" in changes and changes["program_ids"] is not None:
            self._check_programs(changes["program_ids"])
        async with self.db.session() as session:
            consultation = await _for_update(session, Consultation, consultation_id, data.version)
            before = self._consultation_snapshot(consultation)
            for field, value in changes.items():
                if field == "categories":
                    if value is None:
                        raise Invalid("분야를 하나 이상 고르세요")
                    if sorted(value) != sorted(consultation.categories):
                        consultation.category_rows = [ConsultationCategory(category=c) for c in value]
                elif field == "program_ids":
                    if sorted(value or []) != sorted(consultation.program_ids):
                        consultation.program_rows = [ConsultationProgram(program_id=p) for p in value or []]
                elif field in ("channel", "status", "occurred_at", "company_id", "notes") and value is None:
                    raise Invalid(f"{field} 값은 비울 수 없습니다")
                elif field == "company_id" and await session.get(Company, value) is None:
                    raise Invalid("기업을 찾을 수 없습니다")
                else:
                    setattr(consultation, field, value)
            if consultation.status != before["status"] and consultation.staff_id is None:
                # Whoever first moves a request on (e.g. a bot hand-off out of 신규) becomes its handler.
                consultation.staff_id = actor.id
            after = self._consultation_snapshot(consultation)
            if before == after:
                return consultation
            consultation.updated_at = self.clock.now()
            audit.record(
                session, self.clock, actor, "update", "consultation", consultation.id, audit.diff(before, after)
            )
            await self._commit_versioned(session)
        return await self.get_consultation(consultation_id)

    async def list_consultations(
        self,
        flt: ConsultationFilter,
        *,
        limit: int = 50,
        offset: int = 0,
        sort: ConsultationSort = "-occurred_at",
    ) -> Page[Consultation]:
        query = select(Consultation).join(Company, Company.id == Consultation.company_id)
        equal = [(Consultation.channel, flt.channel)]
        query = _filter_records(query, flt, Consultation, Consultation.notes, Consultation.occurred_at, equal)
        if flt.category:
            query = query.where(
                Consultation.id.in_(
                    select(ConsultationCategory.consultation_id).where(ConsultationCategory.category == flt.category)
                )
            )
        columns = {"occurred_at": Consultation.occurred_at, "company": Company.name, "status": Consultation.status}
        return await self._page(_sorted(query, sort, columns, Consultation), limit, offset)

    # --- application intents ------------------------------------------------------------

    async def create_intent(
        self,
        actor: Staff | str,
        data: IntentCreate,
        *,
        source: str = "staff",
        requester_key: str | None = None,
    ) -> ApplicationIntent:
        if data.program_id:
            self._check_programs([data.program_id])
        async with self.db.writing(), self.db.session() as session:
            if data.company_id is not None and await session.get(Company, data.company_id) is None:
                raise Invalid("기업을 찾을 수 없습니다")
            same_requester = (
                ApplicationIntent.company_id == data.company_id
                if data.company_id is not None
                else ApplicationIntent.requester_key == requester_key
            )
            existing = await session.scalar(
                select(ApplicationIntent).where(
                    same_requester,
                    ApplicationIntent.program_id.is_(None)
                    if data.program_id is None
                    else ApplicationIntent.program_id == data.program_id,
                    ApplicationIntent.announcement_ref.is_(None)
                    if data.announcement_ref is None
                    else ApplicationIntent.announcement_ref == data.announcement_ref,
                )
            )
            if existing is not None:
                return existing
            now = self.clock.now()
            intent = ApplicationIntent(
                **data.model_dump(),
                source=source,
                requester_key=requester_key,
                version=1,
                created_at=now,
                updated_at=now,
            )
            snapshot = _snapshot(intent, ("company_id", "program_id", "announcement_ref", "status", "source"))
            await self._insert(session, actor, "intent", intent, snapshot)
        return await self.get_intent(intent.id)

    async def get_intent(self, intent_id: int) -> ApplicationIntent:
        return await self._get(ApplicationIntent, intent_id)

    async def update_intent(self, actor: Staff, intent_id: int, data: IntentUpdate) -> ApplicationIntent:
        changes = {k: v for k, v in data.model_dump(exclude_unset=True, exclude={"version"}).items() if v is not None}
        async with self.db.session() as session:
            intent = await _for_update(session, ApplicationIntent, intent_id, data.version)
            before = _snapshot(intent, ("status", "note"))
            for field, value in changes.items():
                setattr(intent, field, value)
            after = _snapshot(intent, ("status", "note"))
            if before == after:
                return intent
            intent.updated_at = self.clock.now()
            audit.record(session, self.clock, actor, "update", "intent", intent.id, audit.diff(before, after))
            await self._commit_versioned(session)
        return await self.get_intent(intent_id)

    async def list_intents(
        self, flt: IntentFilter, *, limit: int = 50, offset: int = 0, sort: IntentSort = "-created_at"
    ) -> Page[ApplicationIntent]:
        query = select(ApplicationIntent).outerjoin(Company, Company.id == ApplicationIntent.company_id)
        equal = [(ApplicationIntent.source, flt.source), (ApplicationIntent.program_id, flt.program_id)]
        query = _filter_records(
            query, flt, ApplicationIntent, ApplicationIntent.note, ApplicationIntent.created_at, equal
        )
        columns = {
            "created_at": ApplicationIntent.created_at,
            "status": ApplicationIntent.status,
            "company": Company.name,
        }
        return await self._page(_sorted(query, sort, columns, ApplicationIntent), limit, offset)

    # --- audit trail ------------------------------------------------------------------

    async def list_audit(
        self, entity: str | None = None, entity_id: str | None = None, *, limit: int = 50, offset: int = 0
    ) -> Page[AuditEntry]:
        query = select(AuditEntry)
        if entity:
            query = query.where(AuditEntry.entity == entity)
        if entity_id:
            query = query.where(AuditEntry.entity_id == entity_id)
        return await self._page(query.order_by(AuditEntry.id.desc()), limit, offset)

    # --- statistics -------------------------------------------------------------------

    async def consultations_per_category_month(self, months: int = 6) -> dict[str, dict[str, int]]:
        """{'2026-11': {'금융': 3, ...}, ...} for the last `months` KST months, oldest first."""
        today = self.clock.now().astimezone(KST).date()
        first = today.replace(day=1)
        for _ in range(months - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        keys = []
        cursor = first
        while cursor <= today:
            keys.append(cursor.strftime("%Y-%m"))
            cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        table: dict[str, dict[str, int]] = {key: {} for key in keys}
        async with self.db.session() as session:
            rows = await session.execute(
                select(Consultation.occurred_at, ConsultationCategory.category)
                .join(ConsultationCategory, ConsultationCategory.consultation_id == Consultation.id)
                .where(Consultation.occurred_at >= kst_day_start(first))
            )
            for occurred_at, category in rows:
                key = ensure_utc(occurred_at).astimezone(KST).strftime("%Y-%m")
                if key in table:
                    table[key][category] = table[key].get(category, 0) + 1
        return table

    async def handoffs_per_month(self, months: int = 6) -> dict[str, int]:
        per_category = await self.consultations_per_category_month(months)
        counts = dict.fromkeys(per_category, 0)
        first = min(per_category)
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Consultation.occurred_at).where(
                    Consultation.channel == "챗봇",
                    Consultation.occurred_at >= kst_day_start(date.fromisoformat(first + "-01")),
                )
            )
            for occurred_at in rows:
                key = ensure_utc(occurred_at).astimezone(KST).strftime("%Y-%m")
                if key in counts:
                    counts[key] += 1
        return counts

    async def inbox_count(self) -> int:
        async with self.db.session() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Consultation)
                    .where(Consultation.channel == "챗봇", Consultation.status == "신규")
                )
                or 0
            )

    # --- helpers ------------------------------------------------------------------------

    async def _get(self, model: type[R], item_id: int) -> R:
        async with self.db.session() as session:
            return await _load(session, model, item_id)

    async def _insert(
        self,
        session: AsyncSession,
        actor: Staff | str,
        entity: str,
        row: Company | Consultation | ApplicationIntent,
        snapshot: dict[str, Any],
        conflict: str = "다른 기록과 충돌합니다",
    ) -> None:
        """Adds and commits a new row with its audit entry; a unique key it breaks is a Conflict."""
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(conflict) from exc
        audit.record(session, self.clock, actor, "create", entity, row.id, audit.diff({}, snapshot))
        await session.commit()

    async def _page(self, query: Select[Any], limit: int, offset: int) -> Page[Any]:
        async with self.db.session() as session:
            total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            items = list((await session.scalars(query.limit(limit).offset(offset))).unique())
            return Page(items=items, total=int(total or 0), limit=limit, offset=offset)

    @staticmethod
    async def _commit_versioned(session: AsyncSession, conflict_message: str = "다른 기록과 충돌합니다") -> None:
        try:
            await session.commit()
        except StaleDataError as exc:
            raise StaleVersion(_STALE_MESSAGE) from exc
        except IntegrityError as exc:
            raise Conflict(conflict_message) from exc

    async def company_of_requester(self, requester_key: str) -> int | None:
        """The company a chat user named in their latest hand-off, if any."""
        async with self.db.session() as session:
            return await session.scalar(
                select(Consultation.company_id)
                .where(Consultation.requester_key == requester_key)
                .order_by(Consultation.created_at.desc(), Consultation.id.desc())
                .limit(1)
            )
