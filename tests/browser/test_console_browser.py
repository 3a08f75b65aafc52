"""The staff console in Debian's Chromium (Playwright, headless) against the app on uvicorn:
log in, record a consultation for a new company, find it, see a bot hand-off, export Excel.

Screenshots go to artifacts/screenshots/console-*.png. A missing Chromium fails.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, expect

from api.container import Services, build_services
from core.settings import Settings
from tests.browser.conftest import SCREENSHOTS
from tests.desk.helpers import STAFF_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.usefixtures("db")]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = await build_services(settings)
    await services.desk.create_staff("desk1", "현장데스크 담당", STAFF_PASSWORD)
    yield services
    await services.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


async def say(chat: Page, text: str) -> None:
    rows = chat.locator("#chat-log .row.bot")
    before = await rows.count()
    await chat.locator("#chat-input").fill(text)
    await chat.locator("#chat-input").press("Enter")
    await expect(rows).to_have_count(before + 1)


async def login(page: Page, base_url: str) -> None:
    await page.goto(base_url + "/console/consultations")
    await expect(page.get_by_role("heading", name="직원 로그인")).to_be_visible()
    await page.get_by_label("아이디").fill("desk1")
    await page.get_by_label("비밀번호").fill(STAFF_PASSWORD)
    await shot(page, "01-login")
    await page.get_by_label("비밀번호").press("Enter")
    await expect(page.get_by_role("heading", name="상담 기록")).to_be_visible()


async def test_staff_logs_a_consultation_sees_a_handoff_and_exports(browser: Browser, base_url: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR", accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await login(page, base_url)

    await page.get_by_role("link", name="새 상담").click()
    company = page.get_by_label("기업명")
    await company.press_sequentially("한빛전장")
    await expect(page.locator("#company-hint")).to_contain_text("새 기업으로 등록됩니다")
    await page.get_by_label("사업자등록번호").fill("124-81-00998")
    await page.get_by_label("업종", exact=True).select_option("전기자동차")
    await page.get_by_label("소재지 (읍면동)").fill("김포시 대곶면")
    await page.get_by_label("금융").check()
    await page.get_by_label("수출").check()
    await page.get_by_label("상담 내용").fill("전기차 부품 수출 자금 문의.\n다음 주 서류 안내 예정")
    # The eligibility check, by keyboard: facts in, grouped result, 신청 가능 into 논의한 지원사업.
    await page.get_by_label("시·군·구").fill("김포시")
    await page.get_by_label("읍·면·동").fill("대곶면")
    await page.get_by_label("상시근로자 수").fill("6")
    await page.get_by_label("제조업 여부").select_option(label="예")
    await page.get_by_label("5대 대표산업").select_option("전기자동차")
    await page.get_by_role("button", name="지원 가능 사업 확인").focus()
    await page.keyboard.press("Enter")
    result = page.locator("#eligibility-result")
    await expect(result.get_by_role("heading", name=re.compile(r"^신청 가능 \([1-9]"))).to_be_visible()
    await expect(result.get_by_role("heading", name=re.compile(r"^불가 \("))).to_be_visible()
    eligible = await result.locator('input[name="eligible"]').evaluate_all("els => els.map(e => e.value)")
    assert eligible
    await page.get_by_role("button", name="신청 가능 사업을 ‘논의한 지원사업’에 추가").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#program_ids option:checked")).to_have_count(len(eligible))
    chosen = await page.locator("#program_ids").evaluate("s => [...s.selectedOptions].map(o => o.value)")
    assert sorted(chosen) == sorted(eligible)
    await shot(page, "02-new-consultation")
    await page.get_by_role("button", name="저장").click()
    await expect(page.get_by_role("status")).to_contain_text("상담 기록을 저장했습니다")

    await page.get_by_label("검색 (기업명·내용)").fill("한빛")
    await page.get_by_role("button", name="찾기").click()
    row = page.get_by_role("row").filter(has_text="한빛전장")
    await expect(row).to_contain_text("금융, 수출")
    await shot(page, "03-list")

    # A company asks for a person in the web chat, in another browser tab.
    chat = await context.new_page()
    await chat.goto(base_url + "/")
    for text in ("상담원 연결해 주세요", "김포물류센터", "010-2345-6789", "스마트물류 지원 상담", "동의"):
        await say(chat, text)
    await expect(chat.locator("#chat-log .row.bot").last).to_contain_text("상담 신청을 접수했어요")
    await chat.close()

    await page.get_by_role("link", name="챗봇 인박스").click()
    await expect(page.get_by_text("김포물류센터")).to_be_visible()
    await shot(page, "04-inbox")
    await page.get_by_role("button", name="처리 시작").click()
    await expect(page.get_by_role("heading", name="처리 중 1건")).to_be_visible()

    await page.get_by_role("link", name="대시보드").click()
    await expect(page.locator("svg.chart").first).to_be_visible()
    await shot(page, "05-dashboard")

    await page.get_by_role("link", name="내보내기").click()
    async with page.expect_download() as download_info:
        await page.locator("form").filter(has_text="상담 기록").get_by_role("button", name="Excel (xlsx)").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("상담기록_") and download.suggested_filename.endswith(".xlsx")
    content = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = load_workbook(io.BytesIO(content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    company, notes_at = header.index("기업명"), header.index("내용")
    assert "한빛전장" in [r[company] for r in rows] and "김포물류센터" in [r[company] for r in rows]
    notes = next(r[notes_at] for r in rows if r[company] == "한빛전장")
    assert notes == "전기차 부품 수출 자금 문의.\n다음 주 서류 안내 예정"
    assert errors == []
    await context.close()


async def test_console_on_a_tablet_with_the_keyboard(browser: Browser, base_url: str) -> None:
    page = await browser.new_page(viewport={"width": 768, "height": 1024}, locale="ko-KR")
    page.set_default_timeout(10_000)
    await page.goto(base_url + "/console/login")
    await expect(page.get_by_label("아이디")).to_be_focused()
    await page.keyboard.type("desk1")
    await page.keyboard.press("Tab")
    await page.keyboard.type(STAFF_PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="대시보드")).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="본문으로 건너뛰기")).to_be_focused()
    await page.goto(base_url + "/console/consultations/new")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, "no sideways scrolling on a tablet"
    await shot(page, "06-tablet-new-consultation")
    await page.goto(base_url + "/console/intents")
    await shot(page, "07-tablet-intents")


async def test_compose_and_preview_an_announcement(browser: Browser, base_url: str, services: Services) -> None:
    await services.subscriptions.subscribe("telegram", "2002", ["스마트공장"], consent=True)
    page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    page.set_default_timeout(10_000)
    await page.goto(base_url + "/console/login")
    await page.get_by_label("아이디").fill("desk1")
    await page.get_by_label("비밀번호").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="로그인").click()
    await page.get_by_role("link", name="공고 알림").click()
    await page.get_by_role("link", name="새 공고 작성").click()
    await page.get_by_label("제목").fill("2026년 스마트공장 구축 지원사업 모집")
    await page.get_by_label("내용").fill("김포시 소재 제조 중소기업 대상, 기업당 최대 지원")
    await page.get_by_label("마감 일시 (한국 시간)").fill("2026-12-24T18:00")
    await page.get_by_label("스마트공장").check()
    await page.get_by_role("button", name="초안 저장 후 미리보기").click()
    await expect(page.get_by_role("heading", name="카카오톡 미리보기")).to_be_visible()
    await expect(page.locator(".bubble.tg b")).to_have_text("[새 공고] 2026년 스마트공장 구축 지원사업 모집")
    await expect(page.locator(".facts")).to_contain_text("1명")
    await shot(page, "08-announcement-preview")
    await page.get_by_role("button", name="발행 (1명에게 보내기)").click()
    await expect(page.get_by_role("status")).to_contain_text("발송 대상 1건")
