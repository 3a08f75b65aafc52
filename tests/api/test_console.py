import re
from datetime import timedelta

import httpx
import pytest
from markupsafe import escape

from bot.ports import HandoffRequest
from core.clock import KST
from core.settings import Settings
from knowledge_base import load_knowledge_base
from knowledge_base.eligibility import CompanyFacts, evaluate
from notifier.models import OptinRequest
from notifier.render import KAKAO_UNSUBSCRIBE_HINT
from tests.desk.helpers import STAFF_PASSWORD, client_for, running_app

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("db")]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "every console form carries a CSRF token"
    return match.group(1)


async def _login(client: httpx.AsyncClient, username: str = "desk1", password: str = STAFF_PASSWORD) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": _csrf(page.text), "next": "/console/"},
    )


async def test_console_requires_login_and_csrf(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        async with client_for(app) as client:
            redirect = await client.get("/console/consultations")
            assert redirect.status_code == 303 and redirect.headers["location"].startswith("/console/login")
            login_page = await client.get("/console/login")
            no_csrf = await client.post("/console/login", data={"username": "desk1", "password": STAFF_PASSWORD})
            assert no_csrf.status_code == 403
            wrong = await _login(client, password="wrong password")
            assert wrong.status_code == 401 and "맞지 않습니다" in wrong.text
            assert "<label" in login_page.text and 'for="username"' in login_page.text
            ok = await _login(client)
            assert ok.status_code == 303 and ok.headers["location"] == "/console/"
            dashboard = await client.get("/console/")
            assert dashboard.status_code == 200 and "<svg" in dashboard.text
            evil = await client.post("/console/logout", data={"csrf_token": "forged"})
            assert evil.status_code == 403
            out = await client.post("/console/logout", data={"csrf_token": _csrf(dashboard.text)})
            assert out.status_code == 303
            assert (await client.get("/console/")).status_code == 303


async def test_login_rate_limit_in_the_console(settings: Settings) -> None:
    settings = settings.model_copy(update={"login_rate_limit_per_min": 2})
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        async with client_for(app) as client:
            assert (await _login(client, password="nope-nope-1")).status_code == 401
            assert (await _login(client, password="nope-nope-2")).status_code == 401
            limited = await _login(client)
            assert limited.status_code == 429 and "너무 많습니다" in limited.text


async def test_record_a_consultation_for_a_new_company_then_see_a_handoff(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        async with client_for(app) as client:
            await _login(client)
            form = await client.get("/console/consultations/new")
            token = _csrf(form.text)
            hint = await client.get("/console/companies/options", params={"company_name": "누리정밀"})
            assert "새 기업으로 등록됩니다" in hint.text
            bad = await client.post(
                "/console/consultations/new",
                data={
                    "csrf_token": token,
                    "company_name": "누리정밀",
                    "brn": "124-81-00997",
                    "categories": ["금융"],
                    "occurred_at": "2026-11-16T10:30",
                },
            )
            assert bad.status_code == 422 and "사업자등록번호" in bad.text and 'value="누리정밀"' in bad.text
            saved = await client.post(
                "/console/consultations/new",
                data={
                    "csrf_token": token,
                    "company_name": "누리정밀",
                    "brn": "124-81-00998",
                    "industry": "지능형기계",
                    "location": "김포시 양촌읍",
                    "categories": ["금융", "스마트공장"],
                    "occurred_at": "2026-11-16T10:30",
                    "channel": "현장데스크",
                    "notes": "스마트공장 자금 문의",
                    "program_ids": ["smart_factory"],
                },
            )
            assert saved.status_code == 303, saved.text
            created_id = int(saved.headers["location"].rsplit("=", 1)[1])
            assert (await services.desk.get_consultation(created_id)).program_ids == ["smart_factory"]
            assert 'value="smart_factory"' in form.text
            listing = await client.get("/console/consultations", params={"q": "누리"})
            assert "누리정밀" in listing.text and "2026-11-16 10:30" in listing.text
            known = await client.get("/console/companies/options", params={"company_name": "누리"})
            assert '<option value="누리정밀">' in known.text

            await services.handoff_port.create_handoff(
                HandoffRequest(
                    channel="kakao",
                    user_key="k1",
                    company_name="한강물류",
                    contact="010-3333-4444",
                    topic="수출 바우처 상담",
                )
            )
            inbox = await client.get("/console/inbox")
            assert "한강물류" in inbox.text and "수출 바우처 상담" in inbox.text
            consultation_id = int(re.search(r"/console/consultations/(\d+)", inbox.text).group(1))
            start = await client.post(
                f"/console/consultations/{consultation_id}",
                data={
                    "csrf_token": token,
                    "version": "1",
                    "status": "진행",
                    "categories": ["기타"],
                    "notes": "x",
                    "back": "/console/inbox",
                },
            )
            assert start.status_code == 303
            stale = await client.post(
                f"/console/consultations/{consultation_id}",
                data={"csrf_token": token, "version": "1", "status": "완료", "categories": ["기타"], "notes": "y"},
            )
            assert stale.status_code == 409 and "먼저 수정" in stale.text


async def test_intents_board_moves_a_card(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        await services.handoff_port.record_intent("telegram", "t1", "smart_factory", "누리정밀")
        async with client_for(app) as client:
            await _login(client)
            board = await client.get("/console/intents")
            assert "누리정밀" in board.text
            card = re.search(r'<article class="card intent">(.*?)</article>', board.text, re.S)
            assert card, board.text
            program_name = load_knowledge_base(settings.kb_dir).programs["smart_factory"].name
            assert str(escape(program_name)) in card.group(1) and "smart_factory" not in card.group(1)
            intent_id = re.search(r'action="/console/intents/(\d+)"', board.text).group(1)
            moved = await client.post(
                f"/console/intents/{intent_id}",
                data={"csrf_token": _csrf(board.text), "version": "1", "status": "신청예정"},
            )
            assert moved.status_code == 303
            intent = await services.desk.get_intent(int(intent_id))
            assert intent.status == "신청예정" and intent.version == 2
            added = await client.post(
                "/console/intents/new",
                data={
                    "csrf_token": _csrf(board.text),
                    "company_name": "새한정밀",
                    "program_id": "smart_factory",
                    "status": "관심",
                },
            )
            assert added.status_code == 303 and "error" not in added.headers["location"]
            assert "새한정밀" in (await client.get("/console/intents")).text
            unknown = await client.post(
                "/console/intents/new",
                data={"csrf_token": _csrf(board.text), "company_name": "새한정밀", "program_id": "no_such_program"},
            )
            assert "error=" in unknown.headers["location"]


async def test_announcement_compose_preview_audience_publish_and_cancel(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        await services.subscriptions.subscribe("telegram", "1001", ["스마트공장"], consent=True)
        await services.subscriptions.subscribe("kakao", "kakao-user-2", ["수출"], consent=True)
        await services.subscriptions.subscribe("email", "a@example.kr", ["스마트공장", "수출"], consent=True)
        async with client_for(app) as client:
            await _login(client)
            page = await client.get("/console/announcements/new")
            token = _csrf(page.text)
            bad = await client.post(
                "/console/announcements/new",
                data={"csrf_token": token, "title": "마감 없는 공고", "period_kind": "dated", "ends_at": ""},
            )
            assert bad.status_code == 422 and "마감" in bad.text
            made = await client.post(
                "/console/announcements/new",
                data={
                    "csrf_token": token,
                    "title": "2026 스마트공장 <구축> 지원 공고",
                    "body": "김포 소재 제조기업 대상",
                    "url": "https://www.gimpo.go.kr/notice/1",
                    "period_kind": "dated",
                    "ends_at": "2026-12-20T18:00",
                    "topics": ["스마트공장"],
                },
            )
            assert made.status_code == 303, made.text
            detail = await client.get(made.headers["location"])
            assert "<strong>2</strong>명" in detail.text, "telegram 1001 and the e-mail subscriber match 스마트공장"
            assert "[새 공고] 2026 스마트공장 &lt;구축&gt; 지원 공고" in detail.text
            assert "<b>[새 공고] 2026 스마트공장 &amp;lt;구축&amp;gt; 지원 공고</b>" not in detail.text
            assert "2026년 12월 20일(일) 18:00" in detail.text
            assert str(escape(KAKAO_UNSUBSCRIBE_HINT)) in detail.text, "the preview shows what the Kakao channel sends"
            published = await client.post(made.headers["location"] + "/publish", data={"csrf_token": token})
            assert published.status_code == 303
            after = await client.get(published.headers["location"])
            assert "발송 대상 2건" in after.text and "발행됨" in after.text
            cancelled = await client.post(made.headers["location"] + "/cancel", data={"csrf_token": token})
            assert "취소" in (await client.get(cancelled.headers["location"])).text
            counts = await client.get("/console/subscribers")
            assert "telegram" in counts.text and "kakao" in counts.text
            dashboard = await client.get("/console/")
            assert "월별 발행 공고" in dashboard.text


async def test_an_announcement_staff_link_to_a_program_is_what_the_bot_gives_for_its_schedule(
    settings: Settings,
) -> None:
    async def bot_cards(client: httpx.AsyncClient) -> list[dict]:
        answer = await client.post(
            "/kakao/skill", json={"userRequest": {"utterance": "스공 접수 언제까지", "user": {"id": "company-7"}}}
        )
        outputs = answer.json()["template"]["outputs"]
        text = outputs[0]["simpleText"]["text"]
        assert "☞ 접수: 8월 3주~10월 4주" in text
        cards = [o["textCard"] for o in outputs if "textCard" in o]
        # With a published 공고 the answer leads with it, before the plan's table.
        assert text.startswith("지금 접수 중인 공고가 있어요: 스마트공장") == bool(cards), text
        return cards

    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        async with client_for(app) as client:
            await _login(client)
            assert await bot_cards(client) == []
            page = await client.get("/console/announcements/new")
            assert '<option value="smart_factory"' in page.text
            token = _csrf(page.text)
            form = {
                "csrf_token": token,
                "title": "스마트공장 구축 지원사업 참여기업 모집",
                "url": "https://www.gimpo.go.kr/notice/7",
                "period_kind": "dated",
                # Ahead of whenever the test runs: the bot shows only what is still open.
                "ends_at": (services.clock.now() + timedelta(days=30)).astimezone(KST).strftime("%Y-%m-%dT18:00"),
                "program_id": "no_such_program",
            }
            unknown = await client.post("/console/announcements/new", data=form)
            assert unknown.status_code == 422 and "목록에 있는 지원사업" in unknown.text
            made = await client.post("/console/announcements/new", data={**form, "program_id": "smart_factory"})
            assert made.status_code == 303, made.text
            detail = await client.get(made.headers["location"])
            assert "<dt>지원사업</dt><dd>스마트공장 구축 지원사업</dd>" in detail.text
            assert await bot_cards(client) == [], "a draft is not shown"
            await client.post(made.headers["location"] + "/publish", data={"csrf_token": token})
            [card] = await bot_cards(client)
            assert card["title"] == "[접수 중] 스마트공장 구축 지원사업 참여기업 모집"
            assert card["description"].startswith("접수 기간: ~ ") and card["description"].endswith(" 18:00")
            assert card["buttons"] == [
                {"label": "공고 보기", "action": "webLink", "webLinkUrl": "https://www.gimpo.go.kr/notice/7"}
            ]
            await client.post(made.headers["location"] + "/cancel", data={"csrf_token": token})
            assert await bot_cards(client) == []


async def test_company_search_fragment_takes_odd_input(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        async with client_for(app) as client:
            await _login(client)
            odd = await client.get("/console/companies/options", params={"company_name": "정밀\x00공업"})
            assert odd.status_code == 200 and "새 기업으로 등록됩니다" in odd.text


async def test_consultation_form_checks_eligibility_and_adds_the_eligible_programs(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        async with client_for(app) as client:
            await _login(client)
            page = await client.get("/console/consultations/new")
            token = _csrf(page.text)
            assert 'for="e_sigungu"' in page.text and 'id="eligibility-result"' in page.text
            no_csrf = await client.post("/console/eligibility", data={"e_sigungu": "김포시"})
            assert no_csrf.status_code == 403
            facts = {
                "csrf_token": token,
                "e_sigungu": "김포시",
                "e_is_manufacturer": "yes",
                "e_employees": "6",
                "e_representative_industry": "해당 없음",
            }
            checked = await client.post("/console/eligibility", data=facts)
            assert checked.status_code == 200, checked.text
            expected = evaluate(
                CompanyFacts(sigungu="김포시", is_manufacturer=True, employees=6, representative_industry="해당 없음")
            )
            eligible = expected.by_outcome["신청 가능"]
            assert eligible, "a small Gimpo manufacturer can apply to something"
            for outcome in ("신청 가능", "확인 필요", "불가"):
                assert f"{outcome} ({len(expected.by_outcome[outcome])})" in checked.text
            first = expected.result(eligible[0])
            assert first is not None and str(escape(first.reasons[0].text)) in checked.text
            hidden = re.findall(r'name="eligible" value="([^"]+)"', checked.text)
            assert hidden and set(hidden) <= set(eligible)
            added = await client.post(
                "/console/eligibility/discussed",
                data={"csrf_token": token, "program_ids": ["certification"], "eligible": hidden},
            )
            chosen = set(re.findall(r'<option value="([^"]+)" selected', added.text))
            assert chosen == {"certification", *hidden}
            odd = await client.post("/console/eligibility", data={**facts, "e_representative_industry": "반도체"})
            assert odd.status_code == 422 and 'role="alert"' in odd.text
            odd = await client.post("/console/eligibility", data={**facts, "e_employees": "많음"})
            assert odd.status_code == 422


async def test_choosing_a_registered_company_prefills_the_eligibility_facts(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        async with client_for(app) as client:
            await _login(client)
            page = await client.get("/console/consultations/new")
            token = _csrf(page.text)
            made = await client.post(
                "/console/consultations/new",
                data={
                    "csrf_token": token,
                    "company_name": "김포정밀",
                    "industry": "전기자동차",
                    "employees": "12",
                    "location": "김포시 양촌읍",
                    "occurred_at": "2026-11-16T10:30",
                    "channel": "현장데스크",
                    "status": "신규",
                    "categories": "지원사업",
                },
            )
            assert made.status_code == 303, made.text
            options = await client.get("/console/companies/options", params={"company_name": "김포정밀"})
            assert 'id="eligibility-facts" hx-swap-oob="true"' in options.text
            assert 'name="e_sigungu" maxlength="40" placeholder="예: 김포시" value="김포시"' in options.text
            assert 'value="양촌읍"' in options.text and 'value="12"' in options.text
            assert "<option selected>전기자동차</option>" in options.text


async def test_subscribers_page_shows_consent_records_and_pending_confirmations(settings: Settings) -> None:
    async with running_app(settings) as (app, services):
        await services.desk.create_staff("desk1", "현장데스크", STAFF_PASSWORD)
        await services.subscriptions.subscribe("kakao", "kakao-user-2", ["수출"], consent=True, consent_channel="kakao")
        await services.subscriptions.subscribe("telegram", "1001", ["수출"], consent=True, consent_channel="kakao")
        now = services.clock.now()
        async with services.db.session() as session:
            # One e-mail sign-up whose link is out and one whose mail failed (no link to follow).
            for address, sent in (("wait@example.kr", now), ("failed@example.kr", None)):
                session.add(
                    OptinRequest(
                        address=address,
                        topics=["수출"],
                        token_hash=address.ljust(64, "0")[:64],
                        consent_channel="web",
                        consent_text="동의",
                        created_at=now,
                        expires_at=now + timedelta(hours=48),
                        last_sent_at=sent,
                    )
                )
            await session.commit()
        async with client_for(app) as client:
            await _login(client)
            page = await client.get("/console/subscribers")
        assert "수신 동의 기록" in page.text
        assert "<td>kakao</td><td>2</td>" in page.text
        assert "e-mail 확인 대기 (링크 유효): 1건" in page.text
