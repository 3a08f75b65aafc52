"""The eligibility conversation through the dialogue (real knowledge base, keyword NLU)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.context import DbContextStore, MemoryContextStore
from bot.dialogue import Dialogue
from bot.reply import Message, Reply
from core.clock import FixedClock
from core.db import Database
from core.settings import Settings
from knowledge_base.loader import load_knowledge_base
from tests.bot.test_dialogue import FakeHandoff, FakeSubscriptions
from tests.fakes.nlu import KeywordNlu
from tests.knowledge_base.eligibility_profiles import Profile, outcomes, profile_params

DONE_WHEN = ["우리 회사도 받을수있나요", "김포 양촌읍", "금속가공 제조업", "직원 6명이에요", "해당 없음"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2022, 6, 1, 1, 0, tzinfo=UTC))


@pytest.fixture
def make(settings: Settings, clock: FixedClock):
    def build(**kwargs) -> Dialogue:
        store = kwargs.pop("context_store", None) or MemoryContextStore(clock, settings.dialogue_context_ttl_s)
        return Dialogue(load_knowledge_base(), KeywordNlu(), store, clock=clock, settings=settings, **kwargs)

    return build


def msg(text: str, channel: str = "cli", extra: dict[str, str] | None = None, user: str = "u1") -> Message:
    return Message(channel=channel, user_key=user, text=text, extra=extra)  # type: ignore[arg-type]


async def converse(dialogue: Dialogue, lines: list[str], channel: str = "cli", user: str = "u1") -> list[Reply]:
    return [await dialogue.respond(msg(line, channel, user=user)) for line in lines]


def result_of(reply: Reply) -> dict[str, str]:
    assert "eligibility" in reply.data, reply.texts
    return outcomes(reply.data["eligibility"]["results"])  # type: ignore[index]


def quick(reply: Reply, label: str) -> Message:
    picked = next(q for q in reply.quick_replies if q.label == label)
    return msg(picked.message, extra=picked.extra)


@pytest.mark.parametrize("profile", profile_params(chat_only=True))
async def test_profile_table_through_the_chat(make, profile: Profile) -> None:
    replies = await converse(make(), list(profile.chat))
    assert all(r.intent == "eligibility" for r in replies), [r.texts for r in replies]
    assert result_of(replies[-1]) == profile.chat_expected


async def test_done_when_six_person_metal_worker_learns_in_four_answers(make) -> None:
    replies = await converse(make(), DONE_WHEN, channel="kakao")
    answers = len(DONE_WHEN) - 1
    assert answers <= 4
    assert all("eligibility" not in r.data for r in replies[:-1])  # questions until the last answer
    final = replies[-1]
    cards = {card.title: card.description for card in final.cards}
    compressor = cards["✅ 콤프레샤 교체"]
    assert "신청 가능" in compressor and "소공인" in compressor and "10명 미만" in compressor
    smart = cards["❓ 스마트공장 지원"]
    assert "중기부" in smart and "먼저 선정" in smart
    assert len(final.cards) <= 10 and all(len(c.description) <= 128 for c in final.cards)
    assert "✅ 신청 가능: 노후생산설비 교체, 콤프레샤 교체" in final.texts[0]


async def test_the_text_result_shows_reasons_and_their_sources(make) -> None:
    final = (await converse(make(), DONE_WHEN))[-1]
    text = final.texts[0]
    compressor = text.index("· 콤프레샤 교체")
    assert text.index("✅ 신청 가능") < compressor < text.index("❓ 확인 필요") < text.index("· 스마트공장 지원")
    assert "소공인 — 상시근로자 10명 미만 — 충족 (상시근로자 6명)" in text
    assert "근거: 「코로나19 위기 소공인 콤프레샤 교체 지원」" in text
    assert "중기부 「스마트공장 보급·확산사업」에 먼저 선정된 기업만" in text
    assert "공고문" in text
    assert any("스마트공장 구축 지원사업" in s for s in final.sources)


async def test_a_correction_updates_the_result(make) -> None:
    dialogue = make()
    before = (await converse(dialogue, DONE_WHEN))[-1]
    assert result_of(before)["compressor_replacement"] == "신청 가능"
    after = await dialogue.respond(msg("아 직원 12명이에요"))
    assert result_of(after)["compressor_replacement"] == "불가"
    assert "상시근로자 12명" in after.texts[0]
    moved = await dialogue.respond(msg("아 아니다 인천이에요"))
    assert set(result_of(moved).values()) == {"불가"}


async def test_one_message_with_the_facts_asks_only_what_is_missing(make) -> None:
    dialogue = make()
    first = await dialogue.respond(msg("직원 6명 제조업 소공인인데 콤프레샤 교체 지원 받을 수 있나요?"))
    assert "상시근로자 6명" in first.texts[0] and "어디에 있나요" in first.texts[0]
    final = await dialogue.respond(msg("김포 통진읍"))
    assert result_of(final) == {"compressor_replacement": "신청 가능"}
    more = await dialogue.respond(quick(final, "다른 사업도 확인"))
    assert "대표산업" in more.texts[0]


async def test_a_question_about_one_program_gets_a_result_about_it(make) -> None:
    subscriptions = FakeSubscriptions()
    dialogue = make(subscriptions=subscriptions)
    await dialogue.respond(msg("직원 6명 제조업 소공인인데 콤프레샤 교체 지원 받을 수 있나요?", "kakao"))
    final = await dialogue.respond(msg("김포 통진읍", "kakao"))
    assert [card.title for card in final.cards] == ["✅ 콤프레샤 교체"]
    summary = final.texts[0]
    assert "✅ 신청 가능: 콤프레샤 교체" in summary
    assert "확인 필요" not in summary and "노후생산설비" not in summary, "no program the user did not ask about"
    assert "다른 사업도 확인" in [q.label for q in final.quick_replies], "the others are an offer"
    alert = quick(final, "알림 신청")
    asked = await dialogue.respond(msg(alert.text, "kakao", alert.extra))
    agree = quick(asked, "동의하고 구독")
    await dialogue.respond(msg(agree.text, "kakao", agree.extra))
    assert sorted(subscriptions.calls[-1][1]) == ["설비", "소공인", "제조"], "this program's topics only"
    offer = quick(final, "다른 사업도 확인")
    await dialogue.respond(msg(offer.text, "kakao", offer.extra))  # asks the 대표산업 the others need
    everything = await dialogue.respond(msg("해당 없음", "kakao"))
    assert len(result_of(everything)) == 10 and "노후생산설비 교체" in everything.texts[0]


async def test_a_focused_result_still_offers_the_others_when_nothing_is_left_to_ask(make) -> None:
    dialogue = make()
    final = (await converse(dialogue, ["시험분석비 지원 받을수있나요", "인천이에요"]))[-1]
    assert result_of(final) == {"test_analysis": "불가"}
    more = await dialogue.respond(quick(final, "다른 사업도 확인"))
    assert len(result_of(more)) == 10 and set(result_of(more).values()) == {"불가"}


async def test_outside_gimpo_answers_at_once(make) -> None:
    replies = await converse(make(), ["받을수있나요", "인천이에요"])
    assert set(result_of(replies[-1]).values()) == {"불가"}
    assert "김포시 소재 기업 대상이에요 (답변: 소재지 인천)" in replies[-1].texts[0]


@pytest.mark.parametrize("word", ["처음으로", "취소"])
async def test_restart_or_cancel_leaves_at_any_point(make, word) -> None:
    dialogue = make()
    await converse(dialogue, DONE_WHEN[:3])
    left = await dialogue.respond(msg(word))
    assert left.intent == "help"
    after = await dialogue.respond(msg("직원 6명이에요"))
    assert "eligibility" not in after.data and after.intent != "eligibility"


async def test_another_question_leaves_the_flow(make) -> None:
    dialogue = make()
    await converse(dialogue, DONE_WHEN[:2])
    budget = await dialogue.respond(msg("시험분석비 예산 얼마예요"))
    assert budget.intent == "program_budget"
    assert "백만원" in budget.texts[0]


async def test_an_unclear_answer_repeats_the_question(make) -> None:
    dialogue = make()
    await converse(dialogue, DONE_WHEN[:1])
    again = await dialogue.respond(msg("음"))
    assert "알아듣지 못했어요" in again.texts[0] and "어디에 있나요" in again.texts[0]


async def test_dont_know_is_not_asked_again(make) -> None:
    replies = await converse(make(), [*DONE_WHEN[:4], "잘 모르겠어요"])
    final = result_of(replies[-1])
    assert final["innovation_5_industries"] == "확인 필요"
    assert final["compressor_replacement"] == "신청 가능"


async def test_quick_reply_answers_work(make) -> None:
    dialogue = make()
    question = await dialogue.respond(msg("받을수있나요"))
    question = await dialogue.respond(quick(question, "김포시"))
    question = await dialogue.respond(quick(question, "제조업"))
    question = await dialogue.respond(quick(question, "10명 미만"))
    final = await dialogue.respond(quick(question, "해당 없음"))
    assert result_of(final)["compressor_replacement"] == "신청 가능"
    sme = await dialogue.respond(quick(final, "중소기업이에요"))
    assert result_of(sme)["test_analysis"] == "신청 가능"
    selected = await dialogue.respond(quick(sme, "중기부 스마트공장 선정"))
    assert result_of(selected)["smart_factory"] == "신청 가능"


async def test_an_ev_company_is_asked_about_2021_participation(make) -> None:
    replies = await converse(make(), ["받을수있나요", "김포", "제조업", "30명", "전기자동차"])
    assert "2021년" in replies[-1].texts[0] and "참여" in replies[-1].texts[0]


async def test_why_shows_every_reason_with_its_quote_and_definition(make) -> None:
    dialogue = make()
    final = (await converse(dialogue, DONE_WHEN, channel="kakao"))[-1]
    card = next(c for c in final.cards if "콤프레샤" in c.title)
    why = await dialogue.respond(msg(card.buttons[0].value, "kakao"))
    assert "코로나19 위기 소공인 콤프레샤 교체 지원" in why.texts[0]
    assert "10명 미만의 제조업" in why.texts[0]
    assert "피해 요건" in why.texts[0]  # the plan is silent on it: say so


async def test_next_steps_subscribe_record_intent_and_handoff(make) -> None:
    subscriptions, handoff = FakeSubscriptions(), FakeHandoff()
    dialogue = make(subscriptions=subscriptions, handoff=handoff)
    final = (await converse(dialogue, DONE_WHEN))[-1]
    labels = [q.label for q in final.quick_replies]
    assert labels[:3] == ["알림 신청", "신청 의사 등록", "상담 신청"]
    asked = await dialogue.respond(quick(final, "알림 신청"))
    assert subscriptions.calls == [] and "이메일 주소" in asked.texts[0]  # the CLI subscribes an e-mail
    asked = await dialogue.respond(msg("kim@example.kr"))
    assert "수신 동의" in asked.texts[0] and subscriptions.calls == []
    await dialogue.respond(quick(asked, "동의하고 구독"))
    (_, topics, consent) = subscriptions.calls[-1]
    assert {"소공인", "설비", "스마트공장", "시험분석"} <= set(topics) and consent
    assert "전기자동차" not in topics  # the EV programs are only in doubt for this company
    recorded = await dialogue.respond(quick(final, "신청 의사 등록"))
    assert [i[2] for i in handoff.intents] == ["old_equipment_replacement", "compressor_replacement"]
    assert "I-1" in recorded.texts[0]
    person = await dialogue.respond(quick(recorded, "상담 신청"))
    assert "회사 이름" in person.texts[-1]
    for line in ["김포정밀", "010-1234-5678", "콤프레샤 교체 신청 서류 문의", "동의"]:
        await dialogue.respond(msg(line))
    (request,) = handoff.requests
    assert "상시근로자 6명" in request.transcript
    assert "신청 가능: 노후생산설비 교체, 콤프레샤 교체" in request.transcript


async def test_state_expires_after_thirty_idle_minutes(make, clock) -> None:
    dialogue = make()
    await converse(dialogue, DONE_WHEN[:2])
    clock.advance(minutes=31)
    after = await dialogue.respond(msg("금속가공 제조업"))
    assert after.intent != "eligibility"


@pytest.mark.db
async def test_state_survives_a_restart_in_the_database(make, settings, clock) -> None:
    db = Database(settings)
    await db.create_all()
    try:
        first = make(context_store=DbContextStore(db, clock, settings.dialogue_context_ttl_s))
        await converse(first, DONE_WHEN[:3])
        second = make(context_store=DbContextStore(db, clock, settings.dialogue_context_ttl_s))
        replies = await converse(second, DONE_WHEN[3:])
        assert result_of(replies[-1])["compressor_replacement"] == "신청 가능"
    finally:
        await db.dispose()


@pytest.mark.db
async def test_subscribe_through_the_real_notifier_port(make, settings, clock) -> None:
    from api.container import build_services

    services = await build_services(settings, clock)
    try:
        dialogue = make(subscriptions=services.subscription_port)
        final = (await converse(dialogue, DONE_WHEN, channel="telegram", user="4242"))[-1]
        picked = next(q for q in final.quick_replies if q.label == "알림 신청")
        asked = await dialogue.respond(msg(picked.message, "telegram", picked.extra, user="4242"))
        assert "수신 동의" in asked.texts[0]
        agree = next(q for q in asked.quick_replies if q.label == "동의하고 구독")
        done = await dialogue.respond(msg(agree.message, "telegram", agree.extra, user="4242"))
        assert "알림을 신청했어요" in done.texts[0]
        stored = await services.subscriptions.topics_of("telegram", "4242")
        assert {"소공인", "설비"} <= set(stored)
    finally:
        await services.close()


async def test_a_service_without_rules_gets_its_target_not_questions(make) -> None:
    reply = await make().respond(msg("현장데스크도 받을수있나요"))
    assert "지원대상" in reply.texts[0] and "어디에 있나요" not in reply.texts[0]
    assert "지원사업 자격 확인" in [q.label for q in reply.quick_replies]
