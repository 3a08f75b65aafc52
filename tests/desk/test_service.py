import logging
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from core.db import Database
from desk import schemas
from desk.errors import Conflict, Invalid, NotFound, RateLimited, StaleVersion
from desk.models import AuditEntry
from desk.schemas import CompanyCreate, CompanyUpdate, ConsultationCreate, ConsultationUpdate, IntentCreate
from desk.service import ConsultationFilter, DeskService, IntentFilter
from tests.desk.helpers import STAFF_PASSWORD, START

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def desk(db: Database, clock: FixedClock) -> DeskService:
    return DeskService(db, clock, program_exists=lambda pid: pid in {"smart_factory", "export_voucher"})


async def test_staff_login_token_and_rate_limit(desk: DeskService, clock: FixedClock) -> None:
    staff = await desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
    with pytest.raises(Conflict):
        await desk.create_staff("desk1", "again", STAFF_PASSWORD)
    with pytest.raises(Invalid):
        await desk.create_staff("short", "pw", "123")
    assert await desk.login("10.0.0.1", "desk1", STAFF_PASSWORD) == staff
    for _ in range(5):
        assert await desk.login("10.0.0.1", "desk1", "wrong password") is None
    with pytest.raises(RateLimited):
        await desk.login("10.0.0.1", "desk1", STAFF_PASSWORD)
    clock.advance(minutes=1)
    assert await desk.login("10.0.0.1", "desk1", STAFF_PASSWORD) == staff
    token = await desk.issue_token("desk1", "laptop")
    assert await desk.staff_for_token(token) == staff
    assert await desk.staff_for_token(token + "x") is None


async def test_company_update_needs_current_version_and_is_audited(desk: DeskService, db: Database) -> None:
    staff = await desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
    company = await desk.create_company(
        staff,
        CompanyCreate(name="김포정밀", brn="124-81-00998", contact_phone="010-1234-5678", contact_consent=True),
    )
    updated = await desk.update_company(
        staff, company.id, CompanyUpdate(version=1, employees=12, industry="지능형기계")
    )
    assert updated.version == 2 and updated.employees == 12
    with pytest.raises(StaleVersion):
        await desk.update_company(staff, company.id, CompanyUpdate(version=1, employees=13))
    with pytest.raises(Conflict):
        await desk.create_company(staff, CompanyCreate(name="다른회사", brn="1248100998"))
    async with db.session() as session:
        entries = list(await session.scalars(select(AuditEntry).where(AuditEntry.entity == "company")))
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].actor == "desk1" and entries[1].changes["employees"] == {"before": None, "after": 12}
    created = entries[0].changes
    assert "010-1234-5678" not in str(created) and "1248100998" not in str(created)
    assert created["contact_phone"]["after"].startswith("0")


async def test_consultations_filters_search_paging_and_versions(desk: DeskService) -> None:
    staff = await desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
    a = await desk.create_company(staff, CompanyCreate(name="김포스마트물류"))
    b = await desk.create_company(staff, CompanyCreate(name="양촌정밀"))
    first = await desk.create_consultation(
        staff,
        ConsultationCreate(
            company_id=a.id,
            categories=["스마트공장", "금융"],
            program_ids=["smart_factory"],
            notes="스마트공장 구축 문의",
            occurred_at=datetime(2026, 11, 1, 15, 30, tzinfo=UTC),  # 11-02 00:30 KST
        ),
    )
    await desk.create_consultation(staff, ConsultationCreate(company_id=b.id, categories=["수출"], channel="전화"))
    with pytest.raises(Invalid, match="없는 사업"):
        await desk.create_consultation(
            staff, ConsultationCreate(company_id=a.id, categories=["수출"], program_ids=["nope"])
        )
    assert (await desk.list_consultations(ConsultationFilter(q="스마트"))).total == 1
    assert (await desk.list_consultations(ConsultationFilter(q="정밀"))).items[0].company.name == "양촌정밀"
    assert (await desk.list_consultations(ConsultationFilter(category="금융"))).total == 1
    assert (await desk.list_consultations(ConsultationFilter(channel="전화"))).total == 1
    assert (await desk.list_consultations(ConsultationFilter(q="100%"))).total == 0
    by_day = await desk.list_consultations(ConsultationFilter(date_from=date(2026, 11, 2), date_to=date(2026, 11, 2)))
    assert [c.id for c in by_day.items] == [first.id], "date filters are KST calendar days"
    page = await desk.list_consultations(ConsultationFilter(), limit=1, offset=1, sort="company")
    assert page.total == 2 and [c.company.name for c in page.items] == ["양촌정밀"]
    changed = await desk.update_consultation(
        staff, first.id, ConsultationUpdate(version=1, status="진행", categories=["금융"])
    )
    assert changed.version == 2 and changed.categories == ["금융"] and changed.status == "진행"
    with pytest.raises(StaleVersion):
        await desk.update_consultation(staff, first.id, ConsultationUpdate(version=1, status="완료"))


async def test_intents_are_deduplicated_and_filterable(desk: DeskService) -> None:
    staff = await desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
    company = await desk.create_company(staff, CompanyCreate(name="김포정밀"))
    one = await desk.create_intent(staff, IntentCreate(company_id=company.id, program_id="export_voucher"))
    again = await desk.create_intent("bot:kakao", IntentCreate(company_id=company.id, program_id="export_voucher"))
    assert one.id == again.id
    await desk.create_intent(
        "bot:kakao", IntentCreate(company_id=company.id, announcement_ref="PBLN_0001"), source="bot"
    )
    assert (await desk.list_intents(IntentFilter(source="bot"))).total == 1
    assert (await desk.list_intents(IntentFilter(program_id="export_voucher"))).total == 1


async def test_intents_filter_search_sort_and_versions(desk: DeskService, clock: FixedClock) -> None:
    staff = await desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
    a = await desk.create_company(staff, CompanyCreate(name="김포정밀"))
    b = await desk.create_company(staff, CompanyCreate(name="양촌물류"))
    first = await desk.create_intent(
        staff, IntentCreate(company_id=a.id, program_id="export_voucher", note="수출 상담")
    )
    clock.advance(hours=14)  # 2026-11-17 00:30 KST: the next Korean day
    second = await desk.create_intent(
        staff, IntentCreate(company_id=b.id, program_id="smart_factory", status="신청예정")
    )
    assert [i.id for i in (await desk.list_intents(IntentFilter(q="수출"))).items] == [first.id], "searches notes"
    assert [i.id for i in (await desk.list_intents(IntentFilter(q="물류"))).items] == [second.id], "and names"
    assert (await desk.list_intents(IntentFilter(q="100%"))).total == 0
    assert [i.id for i in (await desk.list_intents(IntentFilter(status="신청예정"))).items] == [second.id]
    assert [i.id for i in (await desk.list_intents(IntentFilter(company_id=a.id))).items] == [first.id]
    day = date(2026, 11, 17)
    assert [i.id for i in (await desk.list_intents(IntentFilter(date_from=day))).items] == [second.id]
    assert [i.id for i in (await desk.list_intents(IntentFilter(date_to=date(2026, 11, 16)))).items] == [first.id]
    assert [i.id for i in (await desk.list_intents(IntentFilter())).items] == [second.id, first.id]
    page = await desk.list_intents(IntentFilter(), limit=1, offset=1, sort="-company")
    assert page.total == 2 and [i.company.name for i in page.items] == ["김포정밀"]
    assert [i.id for i in (await desk.list_intents(IntentFilter(), sort="status")).items] == [first.id, second.id]
    moved = await desk.update_intent(staff, first.id, schemas.IntentUpdate(version=1, status="신청완료"))
    assert moved.version == 2 and moved.status == "신청완료"
    with pytest.raises(StaleVersion):
        await desk.update_intent(staff, first.id, schemas.IntentUpdate(version=1, status="선정"))
    with pytest.raises(NotFound):
        await desk.update_intent(staff, 999_999, schemas.IntentUpdate(version=1, status="선정"))
    with pytest.raises(NotFound):
        await desk.get_intent(999_999)


async def test_statistics_per_kst_month(desk: DeskService, clock: FixedClock) -> None:
    staff = await desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
    company = await desk.create_company(staff, CompanyCreate(name="김포정밀"))
    # 2026-10-31 16:00 UTC is already 11-01 in Seoul.
    for when, categories, channel in [
        (datetime(2026, 10, 31, 16, 0, tzinfo=UTC), ["금융"], "챗봇"),
        (datetime(2026, 10, 31, 14, 0, tzinfo=UTC), ["금융", "수출"], "현장데스크"),
    ]:
        await desk.create_consultation(
            staff, ConsultationCreate(company_id=company.id, categories=categories, channel=channel, occurred_at=when)
        )
    table = await desk.consultations_per_category_month(months=3)
    assert list(table) == ["2026-09", "2026-10", "2026-11"]
    assert table["2026-10"] == {"금융": 1, "수출": 1} and table["2026-11"] == {"금융": 1}
    assert (await desk.handoffs_per_month(months=3)) == {"2026-09": 0, "2026-10": 0, "2026-11": 1}


def test_pii_is_masked_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    from core.privacy import PiiMaskingFilter

    logger = logging.getLogger("tests.desk.pii")
    handler_filter = PiiMaskingFilter()
    logger.addFilter(handler_filter)
    with caplog.at_level(logging.INFO, logger="tests.desk.pii"):
        logger.info("company %s phone %s", "124-81-00998", "010-1234-5678")
    logger.removeFilter(handler_filter)
    text = caplog.text
    assert "124-81-00998" not in text and "010-1234-5678" not in text
    assert "124-**-*****" in text
