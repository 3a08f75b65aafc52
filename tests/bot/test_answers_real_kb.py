"""Every program of the real knowledge base, asked every program question (through quick-reply
extras, so no NLU is involved): within Kakao's limits, sourced, and with no invented figure."""

from __future__ import annotations

import logging
import re

import pytest

from bot import answers
from bot.context import MemoryContextStore
from bot.dialogue import Dialogue
from bot.ports import OpenAnnouncement
from bot.render import kakao
from bot.reply import Message
from knowledge_base import load_knowledge_base, money
from tests.bot.kakao_limits import assert_kakao_limits
from tests.fakes.nlu import KeywordNlu

KB = load_knowledge_base()

INTENTS = ("program_overview", "program_budget", "program_support", "program_target", "program_schedule", "contact")
MILLION = re.compile(r"([\d,]+(?:\.\d+)?)백만원")
WITH_SPOKEN = re.compile(r"([\d,]+(?:\.\d+)?)백만원 \(([^)]+)\)")
PHONE = re.compile(r"0\d{1,2}-\d{3,4}-\d{4}")


def kb_numbers() -> set[str]:
    """Every number the KB holds (amounts, counts), without thousands separators."""
    dumped = "\n".join(
        [p.model_dump_json() for p in KB.programs.values()]
        + [t.model_dump_json() for t in KB.tables.values()]
        + [KB.common_rules.model_dump_json()]
    )
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", dumped)} | {
        f"{float(n):g}" for n in re.findall(r"\d+\.\d+|\d+", dumped)
    }


NUMBERS = kb_numbers()


@pytest.fixture
def dialogue(clock, settings) -> Dialogue:
    return Dialogue(KB, KeywordNlu(), MemoryContextStore(clock, 60), clock=clock, settings=settings)


@pytest.mark.parametrize("program_id", sorted(KB.programs))
async def test_every_program_answers_every_question_within_limits_and_sourced(dialogue, program_id) -> None:
    phones = {team.phone for team in KB.teams.values()}
    for intent in INTENTS:
        extra = {"intent": intent, "program": program_id}
        reply = await dialogue.respond(Message("kakao", f"u-{program_id}", "버튼", extra=extra))
        assert_kakao_limits(kakao.render(reply))
        text = "\n".join(reply.texts)
        assert "출처: 김포산업진흥원 2022년 주요업무계획 · " in text, (intent, text)
        for amount in MILLION.findall(text):
            assert amount.replace(",", "") in NUMBERS, f"{amount}백만원 is not in the KB ({intent})"
        for amount, spoken in WITH_SPOKEN.findall(text):
            assert spoken == money.spoken_won(float(amount.replace(",", ""))), text
        assert set(PHONE.findall(text)) <= phones, text


async def test_schedules_say_they_are_the_2022_plan_and_offer_the_alert(dialogue) -> None:
    for program in KB.programs.values():
        if program.schedule is None and not any(child.schedule for child in KB.children(program.id)):
            continue
        reply = await dialogue.respond(
            Message("kakao", "u", "일정", extra={"intent": "program_schedule", "program": program.id})
        )
        assert "2022년 계획 기준" in reply.texts[0]
        # Said once, also for a program whose parts have the tables.
        assert reply.texts[0].count(answers.YEARLY_NOTE) == 1, program.id
        assert reply.quick_replies[0].extra == {"intent": "subscribe"}, program.id
        assert_kakao_limits(kakao.render(reply))
        if program.schedule is None:
            continue
        first = program.schedule.steps[0]
        assert f"{first.step}: {first.when()}" in reply.texts[0]


def qualifier(step: str) -> str:
    found = re.search(r"(\([^()]*\))$", step)
    return f" {found.group(1)}" if found else ""


@pytest.mark.parametrize(
    ("question", "label", "step_words"),
    [("접수 언제까지 해요", "접수", "서류 접수"), ("결과보고는 언제예요", "결과 보고", "결과 보고")],
)
async def test_a_schedule_question_about_one_step_leads_with_that_step(dialogue, question, label, step_words) -> None:
    led = 0
    for program in KB.programs.values():
        if program.schedule is None:
            continue
        reply = await dialogue.respond(
            Message("kakao", "u", question, extra={"intent": "program_schedule", "program": program.id})
        )
        assert_kakao_limits(kakao.render(reply))
        lines = reply.texts[0].splitlines()
        asked = [step for step in program.schedule.steps if step_words in step.step]
        lead = [line for line in lines if line.startswith("☞ ")]
        # The lead keeps only what the step's name adds in brackets at its end: (선착순), (2차).
        assert lead == [f"☞ {label}: {step.when()}{qualifier(step.step)}" for step in asked], program.id
        # The whole table still follows, every step once.
        for step in program.schedule.steps:
            row = f"· {step.step}: {step.when()}"
            assert sum(line.startswith(row) for line in lines) == 1, (program.id, step.step)
        if lead:
            led += 1
            assert lines[0].startswith(f"[{program.name}] 일정 (2022년 계획 기준)")
            assert lines.index(lead[-1]) < min(i for i, line in enumerate(lines) if line.startswith("· "))
    assert led >= 5


async def test_a_schedule_question_about_nothing_in_particular_has_no_lead(dialogue) -> None:
    for question in ("일정 알려줘", "언제예요"):
        reply = await dialogue.respond(
            Message("kakao", "u", question, extra={"intent": "program_schedule", "program": "certification"})
        )
        assert "☞" not in reply.texts[0], question


class Announcements:
    """The notifier's port, as the dialogue sees it: fixed 공고, or a failing store."""

    def __init__(self, open_now: list[OpenAnnouncement] | None = None) -> None:
        self.open_now = open_now
        self.asked: list[str] = []

    async def open_for(self, program_id: str) -> list[OpenAnnouncement]:
        self.asked.append(program_id)
        if self.open_now is None:
            raise ConnectionError("database is away")
        return self.open_now if program_id == "smart_factory" else []


SMART_FACTORY_SCHEDULE = {"intent": "program_schedule", "program": "smart_factory"}


def with_announcements(clock, settings, port: Announcements) -> Dialogue:
    return Dialogue(KB, KeywordNlu(), MemoryContextStore(clock, 60), clock=clock, settings=settings, announcements=port)


async def test_an_open_announcement_of_the_program_leads_its_schedule(clock, settings) -> None:
    port = Announcements(
        [
            OpenAnnouncement(
                "2026 스마트공장 구축 지원사업 공고", "~ 2026년 12월 31일(목) 18:00", "https://www.gimpo.go.kr/n/1"
            )
        ]
    )
    dialogue = with_announcements(clock, settings, port)
    extra = {"intent": "program_schedule", "program": "smart_factory"}
    reply = await dialogue.respond(Message("kakao", "u", "접수 언제까지", extra=extra))
    lead, plan = reply.texts[0].split("\n\n", 1)
    assert lead == (
        "지금 접수 중인 공고가 있어요: 2026 스마트공장 구축 지원사업 공고\n"
        "접수 기간: ~ 2026년 12월 31일(목) 18:00\n"
        "공고문은 아래 카드에서 확인해 주세요. 아래 일정은 참고용 김포산업진흥원 2022년 주요업무계획 내용이에요."
    )
    assert plan.startswith("[스마트공장 구축 지원사업] 일정 (2022년 계획 기준)\n☞ 접수: 8월 3주~10월 4주")
    [card] = reply.cards
    assert card.title == "[접수 중] 2026 스마트공장 구축 지원사업 공고"
    assert card.description == "접수 기간: ~ 2026년 12월 31일(목) 18:00"
    assert [(b.action, b.value) for b in card.buttons] == [("webLink", "https://www.gimpo.go.kr/n/1")]
    assert_kakao_limits(kakao.render(reply))
    other = await dialogue.respond(
        Message("kakao", "u", "일정", extra={"intent": "program_schedule", "program": "test_analysis"})
    )
    assert other.cards == () and other.texts[0].startswith("[중소기업 시험분석비 지원사업] 일정")
    assert port.asked == ["smart_factory", "test_analysis"]


ASKED_FOR_2026 = Message("kakao", "u", "2026년 스마트공장 접수 기간", extra=SMART_FACTORY_SCHEDULE)


async def test_a_year_the_plan_lacks_is_not_said_missing_when_a_notice_is_published(clock, settings) -> None:
    port = Announcements([OpenAnnouncement("2026 스마트공장 공고", "~ 2026년 12월 31일(목) 18:00")])
    reply = await with_announcements(clock, settings, port).respond(ASKED_FOR_2026)
    assert reply.texts[0].startswith("지금 접수 중인 공고가 있어요: 2026 스마트공장 공고")
    assert "정보는 없어요" not in reply.texts[0]
    nothing_open = await with_announcements(clock, settings, Announcements([])).respond(ASKED_FOR_2026)
    assert nothing_open.texts[0].startswith("2026년 정보는 없어요.")


async def test_many_notices_are_counted_and_each_named_by_its_state(clock, settings) -> None:
    states = ["upcoming", "see_notice", *["open"] * 5]
    notices = [
        OpenAnnouncement(f"공고 {i}", f"~ 2026년 12월 {10 + i}일", "javascript:alert(1)" if i == 1 else None, state)
        for i, state in enumerate(states)
    ]
    notices[0] = OpenAnnouncement("긴 " + "가" * 600, "~ 2027년 1월 10일", None, "upcoming")
    reply = await with_announcements(clock, settings, Announcements(notices)).respond(
        Message("kakao", "u", "일정", extra={"intent": "program_schedule", "program": "smart_factory"})
    )
    assert reply.texts[0].startswith(
        "지금 게시된 공고가 7건 있어요. 아래 카드(가까운 마감 순으로 5건)에서 접수 기간과 공고문을 확인해 주세요.\n"
        "가장 가까운 마감: ~ 2027년 1월 10일\n"
    )
    assert [card.title.split("]")[0] for card in reply.cards] == [
        "[접수 예정",
        "[공고",
        "[접수 중",
        "[접수 중",
        "[접수 중",
    ]
    assert all(card.buttons == () for card in reply.cards), "no link, or one that is not http(s): no button"
    assert_kakao_limits(kakao.render(reply))
    one_upcoming = await with_announcements(clock, settings, Announcements(notices[:1])).respond(
        Message("kakao", "u", "일정", extra={"intent": "program_schedule", "program": "smart_factory"})
    )
    assert one_upcoming.texts[0].startswith("지금 접수를 앞둔 공고가 있어요: 긴 가")


async def test_a_failing_announcement_store_still_gives_the_schedule(clock, settings, caplog) -> None:
    dialogue = Dialogue(
        KB, KeywordNlu(), MemoryContextStore(clock, 60), clock=clock, settings=settings, announcements=Announcements()
    )
    extra = {"intent": "program_schedule", "program": "smart_factory"}
    with caplog.at_level(logging.ERROR, logger="bot.dialogue"):
        reply = await dialogue.respond(Message("kakao", "u", "접수 언제까지", extra=extra))
    assert "☞ 접수: 8월 3주~10월 4주" in reply.texts[0] and reply.cards == ()
    assert "open announcements of smart_factory could not be read" in caplog.text


async def test_program_list_pages_through_every_listed_program(dialogue) -> None:
    seen: list[str] = []
    reply = await dialogue.respond(
        Message("kakao", "lister", "지원사업 뭐 있어요", extra={"action": "more", "page": "0"})
    )
    while True:
        assert_kakao_limits(kakao.render(reply))
        seen += [card.title for card in reply.cards]
        more = [q for q in reply.quick_replies if q.label == "더보기"]
        if not more:
            break
        reply = await dialogue.respond(Message("kakao", "lister", more[0].message, extra=more[0].extra))
    assert "중소기업 시험분석비 지원사업" in seen
    assert "스마트공장 구축 지원사업" in seen
    assert len(seen) == len(set(seen))


async def test_smart_factory_budget_says_each_figure_once(dialogue) -> None:
    text = (await dialogue.respond(Message("kakao", "u1", "스마트공장 구축 지원사업 예산"))).texts[0]
    body = text.rsplit("\n", 1)[0]
    facts = ("500백만원 (5억원)", "2,500백만원 (25억원)", "25개사", "국비 1,250백만원(50%)", "자부담 750백만원(30%)")
    for fact in facts:
        assert body.count(fact) == 1, (fact, text)
    assert body.count("시비 500백만원(20%)") == 1  # the breakdown once
    assert "계획서에 두 가지로" not in body  # each discrepancy in one line, by its note
    [typo] = [line for line in body.splitlines() if "사비" in line]
    assert "시비" in typo
    assert len(body.splitlines()) <= 4
