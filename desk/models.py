"""Staff-desk tables: staff accounts and tokens, companies, consultations, intents, audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, get_args

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UtcDateTime
from desk.schemas import Category, Channel, ConsultationStatus, Industry, IntentSource, IntentStatus

ROLES = ("staff", "admin")
# The vocabularies are the API's Literal types (desk.schemas), so the two can never drift apart.
CHANNELS = get_args(Channel)
CATEGORIES = get_args(Category)
CONSULTATION_STATUSES = get_args(ConsultationStatus)
INTENT_STATUSES = get_args(IntentStatus)
INTENT_SOURCES = get_args(IntentSource)
INDUSTRIES = get_args(Industry)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    __tablename__ = "staff_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    # sha256 of the token: a leaked table does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))  # username, or "bot:<channel>"
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    brn: Mapped[str | None] = mapped_column(String(10), unique=True, nullable=True)  # 사업자등록번호, digits
    industry: Mapped[str | None] = mapped_column(String(32), nullable=True)
    employees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location: Mapped[str | None] = mapped_column(String(100), nullable=True)  # down to 읍면동
    contact_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Chat users often leave an e-mail instead of a phone (RFC 5321 caps an address at 254).
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM adds "AND version = :old" to every UPDATE: a lost race raises, never overwrites.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Consultation(Base):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(8), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True)
    # For bot hand-offs: which chat channel it came from, so staff know where the person is.
    origin: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # sha256 of "channel:user_key": links a chat user's requests without storing their chat id.
    requester_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM adds "AND version = :old" to every UPDATE: a lost race raises, never overwrites.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    company: Mapped[Company] = relationship(lazy="joined")
    staff: Mapped[StaffUser | None] = relationship(lazy="joined")
    category_rows: Mapped[list[ConsultationCategory]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ConsultationCategory.category"
    )
    program_rows: Mapped[list[ConsultationProgram]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ConsultationProgram.program_id"
    )

    @property
    def categories(self) -> list[str]:
        return [row.category for row in self.category_rows]

    @property
    def program_ids(self) -> list[str]:
        return [row.program_id for row in self.program_rows]


class ConsultationCategory(Base):
    __tablename__ = "consultation_categories"

    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)


class ConsultationProgram(Base):
    __tablename__ = "consultation_programs"

    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    program_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApplicationIntent(Base):
    __tablename__ = "application_intents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None when a chat user said "신청할게요" before naming their company; staff link it later.
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="RESTRICT"), index=True, nullable=True
    )
    program_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    announcement_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    requester_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM adds "AND version = :old" to every UPDATE: a lost race raises, never overwrites.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    company: Mapped[Company | None] = relationship(lazy="joined")
