"""The web chat in Debian's Chromium (Playwright, headless) against the app served by uvicorn.

Screenshots go to artifacts/screenshots/ (desktop and 360 px wide). A missing Chromium fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from api.container import Services, build_services
from core.settings import Settings
from tests.browser.conftest import SCREENSHOTS
from tests.fakes.smtp import Inbox, confirm_link, smtp

__all__ = ["smtp"]

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
def settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    # Confirmation mails go to a real SMTP server on loopback; the test reads them there.
    return settings.model_copy(update={"smtp_port": smtp[1], "public_base_url": "https://alimi.example.kr"})


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = await build_services(settings)  # the real dialogue: knowledge base and embedded NLU
    yield services
    await services.close()


def bot_rows(page: Page):
    return page.locator("#chat-log .row.bot")


async def ask(page: Page, text: str) -> None:
    """Type like a keyboard user and press Enter; wait for the bot's next row."""
    before = await bot_rows(page).count()
    await page.locator("#chat-input").fill(text)
    await page.locator("#chat-input").press("Enter")
    await expect(bot_rows(page)).to_have_count(before + 1)


async def tap(page: Page, name: str) -> None:
    before = await bot_rows(page).count()
    await bot_rows(page).last.get_by_role("button", name=name, exact=True).click()
    await expect(bot_rows(page)).to_have_count(before + 1)


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


async def test_web_chat_conversation_on_desktop(
    browser: Browser, base_url: str, services: Services, smtp: tuple[Inbox, int]
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 860}, locale="ko-KR")
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base_url + "/")
    await expect(page.get_by_role("heading", name="김포 기업지원 챗봇")).to_be_visible()
    await expect(page.get_by_label("질문 입력")).to_be_visible()
    log = page.get_by_role("log", name="대화 내용")
    await expect(log).to_have_attribute("aria-live", "polite")

    await ask(page, "스마트공장 지원 조건이 뭐예요?")
    answer = bot_rows(page).last
    await expect(answer).to_contain_text("스마트공장 구축 지원사업")
    await expect(answer).to_contain_text("출처: 김포산업진흥원 2022년 주요업무계획")
    await expect(page.locator("#chat-input")).to_be_focused()
    await expect(page.locator("#chat-log .row.user").last).to_contain_text("스마트공장 지원 조건이 뭐예요?")

    await tap(page, "신청대상")
    await expect(bot_rows(page).last).to_contain_text("지원대상")
    # Chips of an answered turn can no longer be pressed twice.
    await expect(bot_rows(page).nth(-2).get_by_role("button", name="신청대상", exact=True)).to_be_disabled()

    # Eligibility about no program in particular: typed answers and chips mixed, as a person would.
    await tap(page, "처음으로")
    await ask(page, "우리 회사도 받을수있나요")
    await expect(bot_rows(page).last).to_contain_text("회사가 어디에 있나요")
    await tap(page, "김포시")
    await ask(page, "금속가공 제조업")
    await tap(page, "10명 미만")
    await tap(page, "해당 없음")
    result = bot_rows(page).last
    await expect(result).to_contain_text("✅ 신청 가능")
    await expect(result).to_contain_text("콤프레샤 교체")
    await shot(page, "webchat-desktop-eligibility.png")

    await ask(page, "지원사업 목록")
    carousel = bot_rows(page).last.locator(".carousel")
    await expect(carousel.locator("article.card")).to_have_count(5)
    await expect(carousel).to_have_attribute("aria-label", "카드 5개, 옆으로 넘겨 보세요")
    scroll_width, client_width = await carousel.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert scroll_width > client_width  # the cards scroll sideways
    await shot(page, "webchat-desktop.png")

    await ask(page, "알림 신청")
    await expect(bot_rows(page).last).to_contain_text("알림")
    await tap(page, "스마트물류")
    await expect(bot_rows(page).last).to_contain_text("이메일 주소를 알려 주세요")
    await ask(page, "kim@example.com")
    await expect(bot_rows(page).last).to_contain_text("[수신 동의] 김포산업진흥원")
    await tap(page, "동의하고 구독")
    await expect(bot_rows(page).last).to_contain_text("확인 메일을 보냈어요")
    await shot(page, "webchat-desktop-subscribe.png")
    assert await services.subscriptions.get("email", "kim@example.com") is None  # pending until confirmed

    # The owner of the address opens the link from the mail the loopback SMTP server received.
    inbox, _ = smtp
    link = confirm_link(inbox, "kim@example.com")
    assert link.startswith("https://alimi.example.kr/subscribe/confirm/")
    mail = await browser.new_page(viewport={"width": 1280, "height": 860}, locale="ko-KR")
    mail.on("pageerror", lambda exc: errors.append(str(exc)))
    await mail.goto(base_url + link.removeprefix("https://alimi.example.kr"))
    await expect(mail.get_by_role("heading", name="구독 확인", exact=True)).to_be_visible()
    await expect(mail.locator("main")).to_contain_text("관심 분야: 스마트물류")
    assert await services.subscriptions.get("email", "kim@example.com") is None  # opening is not confirming
    await mail.get_by_role("button", name="구독 확인").click()
    await expect(mail.get_by_role("heading", name="구독 확인 완료")).to_be_visible()
    await shot(mail, "webchat-subscribe-confirmed.png")
    subscriber = await services.subscriptions.get("email", "kim@example.com")
    assert subscriber is not None and subscriber.active and subscriber.topics == ("스마트물류",)
    await mail.goto(base_url + link.removeprefix("https://alimi.example.kr"))  # a used link is spent
    await expect(mail.locator("main")).to_contain_text("유효하지 않은 링크")
    assert errors == []


async def test_web_chat_on_a_360px_phone_with_the_keyboard_only(
    browser: Browser, base_url: str, services: Services
) -> None:
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="ko-KR"
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(base_url + "/")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # nothing forces sideways scrolling of the page

    await page.keyboard.press("Tab")  # the skip link comes first
    await page.keyboard.press("Enter")
    await expect(page.locator("#chat-input")).to_be_focused()
    await page.keyboard.type("담당자 연락처")
    await page.keyboard.press("Enter")
    await expect(bot_rows(page)).to_have_count(2)
    call = bot_rows(page).last.get_by_role("link", name="전화하기")
    href = await call.get_attribute("href")
    assert href is not None and href.startswith("tel:0")
    shown = await bot_rows(page).last.locator("article.card").first.inner_text()
    assert href.removeprefix("tel:") in "".join(ch for ch in shown if ch.isdigit())

    # Hand-off to a person: the desk's inbox gets the request.
    inbox = await services.desk.inbox_count()
    await ask(page, "현장데스크 상담 신청")
    await expect(bot_rows(page).last).to_contain_text("회사 이름")
    await ask(page, "김포테스트정밀")
    await ask(page, "010-1234-5678")
    await ask(page, "스마트공장 도입 상담")
    await tap(page, "동의")
    await expect(bot_rows(page).last).to_contain_text("상담 신청을 접수했어요")
    assert await services.desk.inbox_count() == inbox + 1

    await ask(page, "지원사업 목록")
    await expect(bot_rows(page).last.locator("article.card").first).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    await shot(page, "webchat-360px.png")
    await context.close()
