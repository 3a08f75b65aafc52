import pytest

from bot.ports import HandoffRequest
from core.clock import FixedClock
from core.db import Database
from desk.bot_port import DeskHandoffPort
from desk.schemas import CompanyCreate
from desk.service import ConsultationFilter, DeskService, IntentFilter
from tests.desk.helpers import START

pytestmark = pytest.mark.db


@pytest.fixture
def desk(db: Database) -> DeskService:
    return DeskService(db, FixedClock(START), program_exists=lambda pid: pid == "smart_factory")


async def test_handoff_creates_a_new_chatbot_consultation_for_a_new_company(desk: DeskService) -> None:
    port = DeskHandoffPort(desk)
    ref = await port.create_handoff(
        HandoffRequest(
            channel="kakao",
            user_key="user-1",
            company_name=" 김포 스마트팩토리 ",
            contact="010 2222 3333",
            topic="스마트공장 구축 지원 문의",
            program_ids=("smart_factory", "not_in_kb"),
        )
    )
    assert ref.startswith("상담 ")
    inbox = await desk.list_consultations(ConsultationFilter(channel="챗봇", status="신규"))
    assert inbox.total == 1
    consultation = inbox.items[0]
    assert consultation.company.name == "김포 스마트팩토리"
    assert consultation.company.contact_phone == "010-2222-3333" and consultation.company.contact_consent
    assert consultation.program_ids == ["smart_factory"] and consultation.origin == "kakao"
    assert "스마트공장 구축 지원 문의" in consultation.notes and consultation.staff is None
    assert "user-1" not in (consultation.requester_key or "")


async def test_handoff_reuses_a_company_without_overwriting_its_contact(desk: DeskService) -> None:
    company = await desk.create_company(
        "desk1", CompanyCreate(name="양촌정밀", contact_phone="031-111-2222", contact_consent=True)
    )
    port = DeskHandoffPort(desk)
    await port.create_handoff(
        HandoffRequest(channel="telegram", user_key="42", company_name="양촌정밀", contact="a@b.kr", topic="수출")
    )
    assert (await desk.get_company(company.id)).contact_phone == "031-111-2222"
    assert (await desk.search_companies("양촌")).total == 1


async def test_intent_from_the_bot_links_to_the_company_of_an_earlier_handoff(desk: DeskService) -> None:
    port = DeskHandoffPort(desk)
    await port.create_handoff(
        HandoffRequest(channel="web", user_key="u9", company_name="김포정밀", contact="010-1111-2222", topic="자금")
    )
    ref = await port.record_intent("web", "u9", "smart_factory", None)
    assert ref.startswith("의향 ")
    assert await port.record_intent("web", "u9", "smart_factory", None) == ref, "repeats do not duplicate"
    anonymous = await port.record_intent("web", "someone-else", "smart_factory", None)
    intents = await desk.list_intents(IntentFilter(source="bot"))
    assert intents.total == 2 and anonymous != ref
    named = {i.id: i.company.name if i.company else None for i in intents.items}
    assert named == {int(ref.split()[1]): "김포정밀", int(anonymous.split()[1]): None}
