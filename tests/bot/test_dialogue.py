"""Dialogue behaviour on a tiny fixture KB and a keyword NLU (the QA suite covers the real ones)."""

from __future__ import annotations

from bot.context import MemoryContextStore
from bot.flows import FlowRegistry, Turn
from bot.ports import HandoffRequest, SubscriptionResult
from bot.reply import Message, Reply
from knowledge_base.consent import load_alert_consent
from knowledge_base.schema import INDUSTRIES


def msg(text: str, user: str = "u1", extra: dict[str, str] | None = None) -> Message:
    return Message(channel="kakao", user_key=user, text=text, extra=extra)


async def test_follow_up_questions_stay_on_the_program_in_context(make_dialogue) -> None:
    dialogue = make_dialogue()
    first = await dialogue.respond(msg("시험분석비 지원사업 알려줘"))
    assert "중소기업 시험분석비 지원사업" in first.texts[0]
    budget = await dialogue.respond(msg("예산은?"))
    assert "25백만원 (2,500만원)" in budget.texts[0]
    assert "25개사" in budget.texts[0]
    schedule = await dialogue.respond(msg("언제 신청해요?"))
    assert "6월 4주~7월 3주" in schedule.texts[0]
    assert "2022년 계획 기준" in schedule.texts[0]


async def test_naming_another_program_switches_context(make_dialogue) -> None:
    dialogue = make_dialogue()
    await dialogue.respond(msg("시험분석비 지원사업 알려줘"))
    await dialogue.respond(msg("스마트공장 알려줘"))
    reply = await dialogue.respond(msg("예산은?"))
    assert "스마트공장" in reply.texts[0]
    assert "시험분석비" not in reply.texts[0]


async def test_context_is_per_user(make_dialogue) -> None:
    dialogue = make_dialogue()
    await dialogue.respond(msg("시험분석비 지원사업 알려줘", user="a"))
    other = await dialogue.respond(msg("예산은?", user="b"))
    assert "어느 지원사업" in other.texts[0]


async def test_context_expires_after_the_ttl(make_dialogue, clock, settings) -> None:
    dialogue = make_dialogue()
    await dialogue.respond(msg("시험분석비 지원사업 알려줘"))
    clock.advance(seconds=settings.dialogue_context_ttl_s + 1)
    reply = await dialogue.respond(msg("예산은?"))
    assert "어느 지원사업" in reply.texts[0]
    assert {q.extra["program"] for q in reply.quick_replies if q.extra and "program" in q.extra} >= {"test_analysis"}


async def test_budget_with_a_discrepancy_shows_both_figures_and_meanings(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("스마트공장 예산"))
    text = reply.texts[0]
    assert "500백만원: 총괄표의 진흥원 예산" in text
    assert "2500백만원: 국비·자부담 포함 총사업비" in text
    assert text.splitlines()[-1].startswith("출처: ")


async def test_every_program_answer_ends_with_its_source(make_dialogue) -> None:
    dialogue = make_dialogue()
    for question in (
        "시험분석비 알려줘",
        "예산은?",
        "대상은?",
        "뭘지원해요",
        "언제예요",
        "절차",
        "비율",
        "주소",
        "통계",
    ):
        reply = await dialogue.respond(msg(question))
        assert reply.texts[0].splitlines()[-1].startswith("출처: 김포산업진흥원 2022년 주요업무계획 · "), question


async def test_out_of_scope_admits_it_and_offers_a_person(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("오늘 점심 뭐 먹지"))
    assert "어려워요" in reply.texts[0]
    assert "070-4269-4084" in reply.texts[0]
    assert reply.handoff
    labels = [q.label for q in reply.quick_replies]
    assert {"인기 질문", "처음으로", "현장데스크 상담"} <= set(labels)


async def test_a_program_the_plan_does_not_have_is_said_so_whatever_is_asked(make_dialogue) -> None:
    # '수출' is only a subject the 현장데스크 service advises on, not a program of the plan.
    for question in ("수출 지원사업 언제 접수해요", "수출 지원사업 예산", "수출 지원사업 대상"):
        reply = await make_dialogue().respond(msg(question))
        assert "'수출 지원사업'은(는) 김포산업진흥원 2022년 주요업무계획에 없는 사업이에요." in reply.texts[0], question
        assert {"지원사업 목록", "현장데스크 상담"} <= {q.label for q in reply.quick_replies}, question
    for question in ("언제 접수해요", "무슨 지원사업 일정이 언제예요"):
        reply = await make_dialogue().respond(msg(question))
        assert "어느 지원사업" in reply.texts[0], question


async def test_low_confidence_with_a_program_named_gives_its_overview(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("시험분석 ㅎㅎ"))
    assert "[중소기업 시험분석비 지원사업]" in reply.texts[0]


async def test_program_question_without_program_asks_which(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("예산 얼마예요"))
    assert "어느 지원사업" in reply.texts[0]
    tapped = next(q for q in reply.quick_replies if q.extra and q.extra.get("program") == "test_analysis")
    assert tapped.extra["intent"] == "program_budget"


async def test_quick_reply_extra_is_answered_without_the_nlu(make_dialogue, keyword_nlu) -> None:
    dialogue = make_dialogue()
    reply = await dialogue.respond(msg("아무 글자", extra={"intent": "program_budget", "program": "smart_factory"}))
    assert "스마트공장 구축 지원사업: 예산" in reply.texts[0]
    assert keyword_nlu.calls == 0


async def test_forged_extra_values_are_ignored(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("오늘 점심 뭐 먹지", extra={"intent": "drop_tables", "program": "x"}))
    assert reply.intent == "out_of_scope"


async def test_program_list_pages_with_more(make_dialogue, monkeypatch) -> None:
    monkeypatch.setattr("bot.dialogue.PAGE_SIZE", 2)
    dialogue = make_dialogue()
    first = await dialogue.respond(msg("지원사업 뭐 있어요"))
    assert len(first.cards) == 2
    more = next(q for q in first.quick_replies if q.label == "더보기")
    second = await dialogue.respond(msg(more.message, extra=more.extra))
    assert len(second.cards) == 1
    assert {c.title for c in first.cards}.isdisjoint({c.title for c in second.cards})
    assert not any(q.label == "더보기" for q in second.quick_replies)


async def test_restart_clears_context(make_dialogue) -> None:
    dialogue = make_dialogue()
    await dialogue.respond(msg("시험분석비 알려줘"))
    await dialogue.respond(msg("처음으로"))
    reply = await dialogue.respond(msg("예산은?"))
    assert "어느 지원사업" in reply.texts[0]


async def test_empty_and_emoji_only_input_get_the_welcome(make_dialogue) -> None:
    dialogue = make_dialogue()
    for text in ("", "   ", "😀😀"):
        reply = await dialogue.respond(msg(text))
        assert "김포산업진흥원 기업지원 챗봇" in reply.texts[0]


async def test_contact_without_program_lists_teams(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("연락처 알려줘요"))
    assert "기업육성팀 070-4269-4084" in reply.texts[0]


class FakeSubscriptions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], bool]] = []
        self.consents: list[tuple[str, str | None, str | None]] = []  # (channel, address, text)
        self.active: dict[str, list[str]] = {}

    async def subscribe(self, message, topics, *, consent, address=None, consent_text=None):
        self.calls.append((message.user_key, topics, consent))
        self.consents.append((message.channel, address, consent_text))
        self.active.setdefault(message.user_key, []).extend(topics)
        return SubscriptionResult(ok=True, topics=tuple(topics))

    async def unsubscribe(self, message):
        self.calls.append((message.user_key, [], False))
        self.active.pop(message.user_key, None)
        return SubscriptionResult(ok=True)

    async def topics_of(self, message):
        return list(self.active.get(message.user_key, []))


CONSENT = load_alert_consent().consent(21, 8)


def tap(reply: Reply, label: str, channel: str = "kakao") -> Message:
    picked = next(q for q in reply.quick_replies if q.label == label)
    return Message(channel=channel, user_key="u1", text=picked.message, extra=picked.extra)  # type: ignore[arg-type]


async def test_a_topic_tap_shows_the_consent_text_and_only_agreeing_subscribes(make_dialogue) -> None:
    port = FakeSubscriptions()
    dialogue = make_dialogue(subscriptions=port)
    offer = await dialogue.respond(msg("알림 신청"))
    labels = [q.label for q in offer.quick_replies]
    assert labels == [*INDUSTRIES, "전체"]
    asked = await dialogue.respond(tap(offer, "전기자동차"))
    assert port.calls == []  # a topic tap is not consent
    assert CONSENT in asked.texts[0] and "관심 분야: 전기자동차" in asked.texts[0]
    assert [q.label for q in asked.quick_replies] == ["동의하고 구독", "취소"]
    done = await dialogue.respond(tap(asked, "동의하고 구독"))
    assert port.calls == [("u1", ["전기자동차"], True)]
    assert port.consents == [("kakao", None, CONSENT)]
    assert "전기자동차" in done.texts[0]
    # Subscribed already: another topic is added without asking again.
    more = await dialogue.respond(tap(await dialogue.respond(msg("알림 신청")), "스마트물류"))
    assert port.calls[-1] == ("u1", ["스마트물류"], True) and port.consents[-1] == ("kakao", None, None)
    assert CONSENT not in more.texts[0]
    await dialogue.respond(msg("알림해지 할래요"))
    assert port.calls[-1] == ("u1", [], False)


async def test_not_agreeing_subscribes_nothing(make_dialogue) -> None:
    port = FakeSubscriptions()
    dialogue = make_dialogue(subscriptions=port)
    asked = await dialogue.respond(tap(await dialogue.respond(msg("알림 신청")), "스마트물류"))
    reply = await dialogue.respond(msg("싫어요"))
    assert port.calls == [] and "신청하지 않았어요" in reply.texts[0]
    asked = await dialogue.respond(tap(await dialogue.respond(msg("알림 신청")), "스마트물류"))
    await dialogue.respond(tap(asked, "취소"))
    assert port.calls == []


async def test_every_channel_shows_the_same_consent_text_before_a_first_subscription(make_dialogue) -> None:
    shown: dict[str, str] = {}
    for channel in ("kakao", "telegram", "web", "cli"):
        port = FakeSubscriptions()
        dialogue = make_dialogue(subscriptions=port)
        offer = await dialogue.respond(Message(channel=channel, user_key="u1", text="알림 신청"))  # type: ignore[arg-type]
        reply = await dialogue.respond(tap(offer, "스마트물류", channel))
        if channel in ("web", "cli"):
            assert "이메일 주소" in reply.texts[0]
            reply = await dialogue.respond(Message(channel=channel, user_key="u1", text="kim@example.kr"))  # type: ignore[arg-type]
        assert port.calls == []
        shown[channel] = reply.texts[0]
        await dialogue.respond(tap(reply, "동의하고 구독", channel))
        address = "kim@example.kr" if channel in ("web", "cli") else None
        assert port.consents == [(channel, address, CONSENT)]
    assert len(set(shown.values())) == 1 and CONSENT in shown["kakao"]


async def test_subscribe_without_a_port_explains_the_channel(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("알림 받고 싶어"))
    assert "김포시 기업지원사업알리미" in reply.texts[0]


class FakeHandoff:
    def __init__(self) -> None:
        self.requests: list[HandoffRequest] = []
        self.intents: list[tuple[str, str, str]] = []

    async def create_handoff(self, request: HandoffRequest) -> str:
        self.requests.append(request)
        return "H-1"

    async def record_intent(self, channel, user_key, program_id, company_name) -> str:
        self.intents.append((channel, user_key, program_id))
        return "I-1"


async def test_handoff_flow_collects_company_contact_topic_and_consent(make_dialogue, settings) -> None:
    port = FakeHandoff()
    dialogue = make_dialogue(handoff=port)
    await dialogue.respond(msg("시험분석비 알려줘"))
    start = await dialogue.respond(msg("상담 받고 싶어요"))
    assert "회사 이름" in start.texts[-1]
    await dialogue.respond(msg("김포정밀"))
    await dialogue.respond(msg("010-1234-5678"))
    consent = await dialogue.respond(msg("시험성적서 비용 문의"))
    assert "동의" in consent.texts[0]
    assert port.requests == []
    done = await dialogue.respond(msg("동의"))
    assert port.requests == [
        HandoffRequest(
            channel="kakao",
            user_key="u1",
            company_name="김포정밀",
            contact="010-1234-5678",
            topic="시험성적서 비용 문의",
            program_ids=("test_analysis",),
            categories=("지원사업",),
        )
    ]
    assert "H-1" in done.texts[0]
    assert settings.business_hours in done.texts[0]
    after = await dialogue.respond(msg("예산은?"))
    assert "25백만원" in after.texts[0]


async def test_handoff_flow_can_be_cancelled(make_dialogue) -> None:
    port = FakeHandoff()
    dialogue = make_dialogue(handoff=port)
    await dialogue.respond(msg("상담 신청"))
    await dialogue.respond(msg("김포정밀"))
    reply = await dialogue.respond(msg("취소"))
    assert reply.texts[0] == "상담 신청을 취소했어요. 입력하신 내용은 저장하지 않았어요."
    assert "김포산업진흥원 기업지원 챗봇" in reply.texts[1]
    assert port.requests == []


async def test_handoff_without_consent_stores_nothing(make_dialogue) -> None:
    port = FakeHandoff()
    dialogue = make_dialogue(handoff=port)
    for text in ("상담 신청", "김포정밀", "010-1234-5678", "자금"):
        await dialogue.respond(msg(text))
    reply = await dialogue.respond(msg("싫어요"))
    assert port.requests == []
    assert "접수하지 않았어요" in reply.texts[0]


async def test_apply_intent_is_recorded_for_the_program_in_context(make_dialogue) -> None:
    port = FakeHandoff()
    dialogue = make_dialogue(handoff=port)
    await dialogue.respond(msg("스마트공장 알려줘"))
    reply = await dialogue.respond(msg("이거 신청할게요"))
    assert port.intents == [("kakao", "u1", "smart_factory")]
    assert "I-1" in reply.texts[0]


async def test_eligibility_intent_starts_the_eligibility_questions(make_dialogue) -> None:
    dialogue = make_dialogue()
    reply = await dialogue.respond(msg("시험분석비 우리도 받을수있나요"))
    assert "어디에 있나요" in reply.texts[0]
    assert "김포 외 지역" in [q.label for q in reply.quick_replies]


class EchoFlow:
    name = "echo"
    triggers = ("eligibility",)

    async def start(self, turn: Turn) -> Reply:
        turn.state.start_flow(self.name, asked=1)
        return Reply(texts=(f"flow started for {turn.program_id}",))

    async def step(self, turn: Turn) -> Reply | None:
        if turn.nlu.intent == "greeting":
            turn.state.end_flow()
            return None
        turn.state.slots["asked"] += 1
        return Reply(texts=(f"step {turn.state.slots['asked']}: {turn.message.text}",))


async def test_registered_flow_starts_on_its_intent_and_keeps_slots(make_dialogue, fixture_kb) -> None:
    flows = FlowRegistry()
    flows.register(EchoFlow())
    dialogue = make_dialogue(flows=flows)
    first = await dialogue.respond(msg("시험분석비 받을수있나요"))
    assert first.texts == ("flow started for test_analysis",)
    second = await dialogue.respond(msg("직원 10명"))
    assert second.texts == ("step 2: 직원 10명",)
    # The flow lets go: the same message is answered normally.
    third = await dialogue.respond(msg("안녕"))
    assert "김포산업진흥원 기업지원 챗봇" in third.texts[0]


async def test_memory_store_is_bounded_lru(clock) -> None:
    store = MemoryContextStore(clock, ttl_s=60, max_users=2)
    for user in ("a", "b"):
        state = await store.load("kakao", user)
        state.program_id = user
        await store.save("kakao", user, state)
    await store.load("kakao", "a")  # a is now the most recent
    await store.save("kakao", "c", await store.load("kakao", "c"))
    assert len(store) == 2
    assert (await store.load("kakao", "b")).program_id is None
    assert (await store.load("kakao", "a")).program_id == "a"


async def test_ratio_question_about_a_program_gives_its_own_percentages_first(make_dialogue) -> None:
    reply = await make_dialogue().respond(msg("스마트공장 지원 비율"))
    text = reply.texts[0]
    assert text.index("[스마트공장 구축 지원사업]") < text.index("60%~75%")
    assert "국비 1,250백만원(50%)" in text


async def test_ratio_question_about_a_program_names_it_with_its_budget_and_companies(make_dialogue) -> None:
    dialogue = make_dialogue()
    for question in ("시험분석 지원금 비율", "지원 비율은요?"):  # named, then the program in context
        text = (await dialogue.respond(msg(question))).texts[0]
        assert text.startswith("[중소기업 시험분석비 지원사업] 지원 비율·지원금\n"), question
        assert "· 예산·규모: 25백만원 (2,500만원), 25개사 지원" in text, question
        assert "업체당 지원 한도 금액은 계획서에 나와 있지 않아요" in text, question
        assert text.index("25개사") < text.index("60%~75%"), question


async def test_a_year_other_than_the_plans_is_said_to_be_missing_then_the_plan_given(make_dialogue) -> None:
    dialogue = make_dialogue()
    reply = await dialogue.respond(msg("2023년 시험분석 언제 접수해요?"))
    first, rest = reply.texts[0].split("\n\n", 1)
    assert first.startswith("2023년 정보는 없어요. 제가 가진 자료는 김포산업진흥원 2022년 주요업무계획뿐이라")
    assert "6월 4주~7월 3주" in rest
    assert reply.quick_replies[0].extra == {"intent": "subscribe"}
    assert [q.label for q in reply.quick_replies].count("알림 신청") == 1
    assert len(reply.quick_replies) <= 10
    listed = await dialogue.respond(msg("23년도 지원사업 목록"))
    assert listed.texts[0].startswith("2023년 정보는 없어요.")
    assert "주요업무계획에 없는 사업" not in listed.texts[0]
    for question in ("2022년 시험분석 언제 접수해요?", "시험분석 예산 2050만원 맞아요?", "20년 된 시험분석 장비 예산"):
        reply = await dialogue.respond(msg(question))
        assert "정보는 없어요" not in reply.texts[0], question


async def test_repeated_questions_are_parsed_once(make_dialogue, keyword_nlu) -> None:
    dialogue = make_dialogue()
    for user in ("a", "b", "c"):
        reply = await dialogue.respond(msg("시험분석비  예산은?", user=user))
        assert "25백만원" in reply.texts[0]
    await dialogue.respond(msg("시험분석비 예산은?", user="d"))  # the same after normalisation
    assert keyword_nlu.calls == 1
