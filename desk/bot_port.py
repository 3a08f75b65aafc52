"""The bot's way into the desk: `bot.ports.HandoffPort` backed by DeskService.

The dialogue only calls `create_handoff` after the user agreed to have their company name,
contact and topic stored, so the contact is kept; without that call nothing is stored.
"""

from __future__ import annotations

import hashlib

from bot.ports import EMAIL_IN_TEXT, HandoffPort, HandoffRequest
from core.text import clean_display
from desk.models import CATEGORIES, INDUSTRIES
from desk.schemas import CompanyCreate, ConsultationCreate, IntentCreate, safe_text
from desk.service import DeskService
from desk.validation import normalize_phone


def requester_key(channel: str, user_key: str) -> str:
    return hashlib.sha256(f"{channel}:{user_key}".encode()).hexdigest()


def reference(kind: str, record_id: int) -> str:
    """The same label the console, API and exports show for the record ('상담 12')."""
    return f"{kind} {record_id}"


class DeskHandoffPort(HandoffPort):
    def __init__(self, desk: DeskService) -> None:
        self.desk = desk

    async def create_handoff(self, request: HandoffRequest) -> str:
        actor = f"bot:{request.channel}"[:64]
        name = clean_display(safe_text(request.company_name))[:100] or "(기업명 미기재)"
        contact = clean_display(safe_text(request.contact))[:100]
        phone = normalize_phone(contact)
        email = EMAIL_IN_TEXT.search(contact)
        company = await self.desk.find_company_by_name(name)
        if company is None:
            # The dialogue calls this only after the user agreed ('동의'): the contact is kept with consent.
            # An existing record is staff-kept and not overwritten.
            company = await self.desk.create_company(
                actor,
                CompanyCreate(
                    name=name,
                    contact_phone=phone,
                    contact_email=email.group(0)[:254] if email else None,
                    contact_consent=True,
                    industry=request.industry if request.industry in INDUSTRIES else None,
                    employees=request.employees,
                    location=clean_display(safe_text(request.location))[:100] if request.location else None,
                ),
            )
        topic = safe_text(request.topic).strip()[:1000]
        notes = f"[챗봇 상담 신청 · {request.channel}]\n상담 내용: {topic}\n연락처: {contact}"
        if request.transcript:
            notes += f"\n\n대화:\n{safe_text(request.transcript)[:2500]}"
        known = [pid for pid in request.program_ids if self.desk.program_is_known(pid)]
        consultation = await self.desk.create_consultation(
            actor,
            ConsultationCreate(
                company_id=company.id,
                channel="챗봇",
                categories=[c for c in request.categories if c in CATEGORIES] or ["지원사업" if known else "기타"],
                program_ids=known,
                notes=notes,
                status="신규",
            ),
            origin=request.channel[:32],
            requester_key=requester_key(request.channel, request.user_key),
        )
        return reference("상담", consultation.id)

    async def record_intent(self, channel: str, user_key: str, program_id: str, company_name: str | None) -> str:
        actor = f"bot:{channel}"[:64]
        key = requester_key(channel, user_key)
        company_id: int | None = None
        if company_name and clean_display(company_name):
            company = await self.desk.find_or_create_company(actor, company_name)
            company_id = company.id
        else:
            company_id = await self.desk.company_of_requester(key)
        data = IntentCreate.model_construct(
            company_id=company_id,
            program_id=program_id,
            announcement_ref=None,
            status="관심",
            note=f"챗봇({channel})에서 신청 의향",
        )
        intent = await self.desk.create_intent(actor, data, source="bot", requester_key=key)
        return reference("의향", intent.id)
