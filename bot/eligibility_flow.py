"""The eligibility conversation: "우리 회사도 받을 수 있나요?" in a few questions.

It asks only for a fact some still-possible program needs (소재지 -> 업종 -> 상시근로자 수 ->
5대 대표산업 -> 2021년 전기차 사업 참여), reads free answers (`bot.eligibility_parse`), keeps its
answers in `state.slots` (the dialogue's context store: persisted, forgotten after 30 idle
minutes) and answers as soon as nothing it could still ask would change an outcome. After the
result it stays active, so a correction ("아 직원 12명이에요") or a missing fact updates the result;
anything else ends it and the dialogue answers as usual. "처음으로"/"취소" are the dialogue's.
"""

from __future__ import annotations

from typing import Any

from bot import answers
from bot.eligibility_parse import Extracted, extract
from bot.flows import Turn
from bot.render.kakao import MAX_CAROUSEL, MAX_CAROUSEL_DESCRIPTION, MAX_TITLE, clip
from bot.reply import Button, Card, QuickReply, Reply
from knowledge_base.eligibility import (
    FACT_LABELS,
    NOT_REPRESENTATIVE,
    CompanyFacts,
    EligibilityResult,
    EligibilityRules,
    ProgramResult,
    ProgramRules,
    Reason,
    Regions,
    candidates,
    describe,
    evaluate,
    load_regions,
    load_rules,
    resolve,
)
from knowledge_base.schema import INDUSTRIES

FLOW_NAME = "eligibility"
HANDOFF_FLOW = "handoff"  # the dialogue's hand-off form (bot.dialogue.HandoffFlow)
# The facts the flow asks for, in this order; the others (중소기업, 중기부 선정, 컨소시엄) are
# offered as quick replies on the result, because most companies answer them only when asked.
ASK_ORDER = ("in_gimpo", "is_manufacturer", "small_workforce", "representative_industry", "prior_ev_2021")
# Asked too, after ASK_ORDER, when the user asked about particular programs that need them: the
# result then never says "확인 필요" for a fact nobody asked for.
FOCUS_ASK_ORDER = ("is_sme", "mss_smart_factory_selected", "consortium")
OUTCOME_MARK = {"신청 가능": "✅", "확인 필요": "❓", "불가": "❌"}
WHY_PREFIX = "판정 근거:"
# Intents that mean "I am asking something else now" when an answer carries no fact.
STAY_INTENTS = frozenset({"eligibility", "out_of_scope", "greeting", "help", "thanks"})
# While a question is pending, an answer with no fact leaves the flow only when the NLU is this
# sure it is another question (answers like "경기도요" score 0.5 on some unrelated intent).
LEAVE_CONFIDENCE = 0.8
KAKAO_SUMMARY_LIMIT = 900
CARDS_HINT = "카드의 '근거 보기'에서 계획서 근거를 볼 수 있어요."
SUBSCRIBE = QuickReply("알림 신청", "이 사업들 공고 알림 신청", {"action": "eligibility_subscribe"})
RESTART = QuickReply("처음으로", "처음으로", {"action": "restart"})
DONT_KNOW = QuickReply("잘 모르겠어요", "잘 모르겠어요")

QUESTIONS: dict[str, tuple[str, tuple[QuickReply, ...]]] = {
    "in_gimpo": (
        "회사가 어디에 있나요? 시·군과 읍·면·동을 알려 주세요. (예: 김포 양촌읍)",
        (QuickReply("김포시", "김포시"), QuickReply("김포 외 지역", "김포 외 지역")),
    ),
    "is_manufacturer": (
        "어떤 업종인가요? (예: 금속가공 제조업, 도소매업)",
        (QuickReply("제조업", "제조업"), QuickReply("제조업 아님", "제조업 아님"), DONT_KNOW),
    ),
    "small_workforce": (
        "상시근로자는 몇 명인가요? (예: 직원 7명)",
        (QuickReply("10명 미만", "10명 미만"), QuickReply("10명 이상", "10명 이상"), DONT_KNOW),
    ),
    "representative_industry": ("김포시 5대 대표산업 중 회사가 속한 분야가 있나요?", ()),  # choices from the rules
    "prior_ev_2021": (
        "2021년 「전기자동차 부품생산 가능화 지원사업」에 참여하셨나요?",
        (QuickReply("네, 참여했어요", "네, 참여했어요"), QuickReply("아니요", "아니요"), DONT_KNOW),
    ),
    "is_sme": (
        "중소기업인가요?",
        (QuickReply("네, 중소기업이에요", "네"), QuickReply("아니요", "아니요"), DONT_KNOW),
    ),
    "mss_smart_factory_selected": (
        "중기부 스마트공장 보급·확산사업에 선정되셨나요?",
        (QuickReply("네, 선정됐어요", "네, 선정됐어요"), QuickReply("아니요", "아니요"), DONT_KNOW),
    ),
    "consortium": (
        "기업간 컨소시엄을 구성하셨나요?",
        (QuickReply("네, 구성했어요", "네"), QuickReply("아니요", "아니요"), DONT_KNOW),
    ),
}
# Quick replies that supply a fact the flow does not ask for, offered when it would settle a result.
REFINE: dict[str, QuickReply] = {
    "is_sme": QuickReply("중소기업이에요", "중소기업이에요"),
    "mss_smart_factory_selected": QuickReply("중기부 스마트공장 선정", "중기부 스마트공장 보급·확산사업에 선정됐어요"),
    "consortium": QuickReply("컨소시엄 있어요", "기업간 컨소시엄을 구성했어요"),
    "prior_ev_2021": QuickReply("작년 전기차사업 참여", "작년에 전기차 사업에 참여했어요"),
}


class EligibilityFlow:
    name = FLOW_NAME
    title = "자격 확인"
    triggers: tuple[str, ...] = ("eligibility",)

    async def start(self, turn: Turn) -> Reply:
        unruled = self._unruled_program(turn)
        if unruled is not None:
            return unruled
        turn.state.start_flow(FLOW_NAME, facts={}, declined=[], asking=None, focus=self._focus(turn))
        rules, regions = _data(turn)
        found = extract(turn.message.text, regions, rules.representative_industries.values)
        _merge(turn.state.slots, found)
        return self._next(turn, found, intro=True)

    async def step(self, turn: Turn) -> Reply | None:
        slots = turn.state.slots
        extra = turn.message.extra or {}
        action = extra.get("action", "")
        if action == "eligibility_subscribe":
            return await self._subscribe(turn)
        if action == "eligibility_intent":
            return await self._record_intents(turn)
        if action == "eligibility_handoff":
            return await self._handoff(turn)
        if action == "eligibility_more":
            slots["focus"] = []
            return self._next(turn, Extracted())
        if extra.get("intent") and extra.get("intent") != "eligibility":
            return None  # a quick reply to another feature (상담 신청, 알림 해지 ...)
        rules, regions = _data(turn)
        why = self._why(turn, rules)
        if why is not None:
            return why
        found = extract(turn.message.text, regions, rules.representative_industries.values, slots.get("asking"))
        if not found:
            if turn.nlu.intent == "eligibility":
                named = self._focus(turn)
                if named and named != slots.get("focus"):
                    slots["focus"] = named
                return self._next(turn, found)
            asked = slots.get("asking")
            other = turn.nlu.intent not in STAY_INTENTS and turn.nlu.confidence >= LEAVE_CONFIDENCE
            if asked is None or other or turn.named:
                return None
            return self._question(turn, asked, prefix="죄송해요, 답을 알아듣지 못했어요. ")
        _merge(slots, found)
        return self._next(turn, found)

    # ------------------------------------------------------------------ the next move
    def _next(self, turn: Turn, found: Extracted, intro: bool = False) -> Reply:
        rules, regions = _data(turn)
        slots = turn.state.slots
        values = resolve(CompanyFacts.model_validate(slots["facts"]), regions, rules)
        needed = next_question(rules, values, set(slots["declined"]), slots.get("focus") or [])
        heard = _heard(found, values)
        if needed is not None:
            slots["asking"] = needed
            prefix = "지원사업 신청 자격을 몇 가지만 여쭤보고 확인해 드릴게요. " if intro and not heard else ""
            if heard:
                prefix = f"알겠어요 ({heard}). "
            return self._question(turn, needed, prefix=prefix)
        slots["asking"] = None
        return self._result(turn, rules, self._current(turn), heard)

    def _question(self, turn: Turn, fact: str, prefix: str = "") -> Reply:
        text, quick = QUESTIONS[fact]
        if fact == "representative_industry":
            rules, _ = _data(turn)
            names = rules.representative_industries.values
            text += f" ({', '.join(names)})"
            quick = (*(QuickReply(n, n) for n in names), QuickReply(NOT_REPRESENTATIVE, NOT_REPRESENTATIVE), DONT_KNOW)
        return Reply(texts=(prefix + text,), quick_replies=(*quick, RESTART), intent="eligibility")

    def _unruled_program(self, turn: Turn) -> Reply | None:
        """A service or centre named in the message (현장데스크, 소공인복합지원센터) has no application
        rules: say who it is for, from the KB, instead of asking questions that decide nothing."""
        kb = turn.dialogue.kb
        named = turn.named
        if named is None or self._focus(turn, named):
            return None
        check = QuickReply("지원사업 자격 확인", "우리 회사가 받을 수 있는 지원사업 확인", {"intent": "eligibility"})
        return Reply(
            texts=(answers.target(kb, kb.program(named)),),
            quick_replies=(check, RESTART),
            intent="eligibility",
        )

    def _focus(self, turn: Turn, named: str | None = None) -> list[str]:
        """The rule programs the user asked about (a parent program stands for its parts)."""
        rules, _ = _data(turn)
        named = named or turn.program_id
        if named is None:
            return []
        if rules.program(named) is not None:
            return [named]
        return [p.program for p in rules.programs if _parent(turn, p.program) == named]

    # ------------------------------------------------------------------ the result
    def _result(self, turn: Turn, rules: EligibilityRules, result: EligibilityResult, heard: str) -> Reply:
        ordered = sorted(result.results, key=_rank)
        facts_line = _facts_line(result.facts)
        head = (f"알겠어요 ({heard}). " if heard else "") + "지원사업 신청 자격 확인 결과예요 (2022년 계획 기준)."
        summary = "\n".join(line for line in (head, f"회사 정보: {facts_line}" if facts_line else "") if line)
        kakao = turn.message.channel == "kakao"
        if kakao:
            short = "\n".join(
                (
                    summary,
                    _grouped_short(ordered),
                    "카드의 '근거 보기'에서 계획서 근거를 볼 수 있어요.",
                    result.disclaimer,
                )
            )
            texts: tuple[str, ...] = (clip(short, KAKAO_SUMMARY_LIMIT),)
            cards = tuple(_card(r) for r in ordered[:MAX_CAROUSEL])
        else:
            texts = (summary + "\n\n" + _grouped_full(ordered) + "\n\n" + result.disclaimer,)
            cards = ()
        sources = tuple(dict.fromkeys(reason.source for r in ordered for reason in _shown(r)))
        return Reply(
            texts=texts,
            cards=cards,
            quick_replies=self._next_steps(turn, rules, result),
            sources=sources,
            intent="eligibility",
            data={"eligibility": result.model_dump(mode="json")},
        )

    def _next_steps(self, turn: Turn, rules: EligibilityRules, result: EligibilityResult) -> tuple[QuickReply, ...]:
        dialogue = turn.dialogue
        slots = turn.state.slots
        possible = [r for r in result.results if r.outcome != "불가"]
        quick: list[QuickReply] = []
        if possible and dialogue.subscriptions is not None:
            quick.append(QuickReply("알림 신청", "이 사업들 공고 알림 신청", {"action": "eligibility_subscribe"}))
        if result.by_outcome["신청 가능"] and dialogue.handoff_port is not None:
            quick.append(QuickReply("신청 의사 등록", "신청 의사 등록", {"action": "eligibility_intent"}))
        if dialogue.handoff_port is not None and dialogue.flows.get(HANDOFF_FLOW) is not None:
            quick.append(QuickReply("상담 신청", "현장데스크 상담 신청", {"action": "eligibility_handoff"}))
        else:  # no hand-off form: the dialogue shows the desk's phone
            quick.append(QuickReply("상담 신청", "현장데스크 상담 신청", {"intent": "handoff"}))
        open_programs = _open_programs(rules, result)
        for fact, reply in REFINE.items():
            if (
                fact not in slots["declined"]
                and any(fact in r.missing_facts for r in possible)
                and any(fact in p.facts() for p in open_programs)
            ):
                quick.append(reply)
        focus = slots.get("focus") or []
        if focus and any(p.program not in focus for p in rules.programs):
            quick.append(QuickReply("다른 사업도 확인", "다른 사업도 확인", {"action": "eligibility_more"}))
        quick.append(RESTART)
        return tuple(quick[:10])

    def _why(self, turn: Turn, rules: EligibilityRules) -> Reply | None:
        """The full reasons of one program (the Kakao card's 근거 button sends its name)."""
        text = turn.message.text.strip()
        if not text.startswith(WHY_PREFIX):
            return None
        label = text.removeprefix(WHY_PREFIX).strip()
        result = self._current(turn)
        r = next((r for r in result.results if r.short_name == label), None)
        if r is None:
            return None
        lines = [f"{OUTCOME_MARK[r.outcome]} {r.name}: {r.outcome}"]
        for reason in r.reasons:
            lines.append(f"· {reason.text}\n  근거: {reason.source}")
            if reason.definition:
                lines.append(f"  ※ {reason.definition}")
        lines.extend(f"※ {note}" for note in r.notes)
        lines.append(result.disclaimer)
        return Reply(
            texts=("\n".join(lines),),
            quick_replies=self._next_steps(turn, rules, self._current(turn)),
            sources=tuple(reason.source for reason in r.reasons),
            intent="eligibility",
        )

    def _current(self, turn: Turn) -> EligibilityResult:
        """The outcomes of the programs the user asked about (every program when none was named):
        the result, its reasons and its next steps are about those; the others are an offer."""
        rules, regions = _data(turn)
        facts = CompanyFacts.model_validate(turn.state.slots["facts"])
        return evaluate(facts, rules, regions, turn.state.slots.get("focus") or None, turn.dialogue.kb)

    # ------------------------------------------------------------------ next steps
    async def _subscribe(self, turn: Turn) -> Reply:
        port = turn.dialogue.subscriptions
        result = self._current(turn)
        kb = turn.dialogue.kb
        rules, _ = _data(turn)
        # The programs the company may apply to or could once a fact is known; not the doubtful ones.
        open_ids = set(result.by_outcome["신청 가능"]) | {p.program for p in _open_programs(rules, result)}
        topics: list[str] = []
        for program_id in sorted(open_ids):
            topics.extend(t for t in kb.program(program_id).topics if t not in topics)
        if port is None or not topics:
            return Reply(texts=("이 채널에서는 알림 신청을 바로 처리할 수 없어요.",), quick_replies=(RESTART,))
        # The same steps as any subscription: consent text first (and the e-mail on web/CLI).
        return await turn.dialogue.start_subscription(turn, topics)

    async def _handoff(self, turn: Turn) -> Reply | None:
        """Hand over to the desk's hand-off form, carrying the facts and outcomes for the staff."""
        handoff = turn.dialogue.flows.get(HANDOFF_FLOW)
        if handoff is None:
            return None
        result = self._current(turn)
        focus = turn.state.slots.get("focus") or []
        facts = turn.state.slots["facts"]
        lines = [f"[챗봇 자격 확인] {_facts_line(result.facts) or '회사 정보 없음'}"]
        for outcome in OUTCOME_MARK:
            names = [r.short_name for r in result.results if r.outcome == outcome]
            if names:
                lines.append(f"{outcome}: {', '.join(names)}")
        reply = await handoff.start(turn)
        turn.state.slots["transcript"] = "\n".join(lines)
        if focus:
            turn.state.slots["program"] = focus[0]
        turn.state.slots["company_facts"] = _company_facts(CompanyFacts.model_validate(facts))
        return reply

    async def _record_intents(self, turn: Turn) -> Reply:
        port = turn.dialogue.handoff_port
        result = self._current(turn)
        rules, _ = _data(turn)
        eligible = result.by_outcome["신청 가능"]
        if port is None or not eligible:
            return Reply(texts=("신청 가능한 사업이 없어 신청 의사를 기록하지 않았어요.",), quick_replies=(RESTART,))
        names = {r.program_id: r.short_name for r in result.results}
        lines = []
        for program_id in eligible:
            reference = await port.record_intent(turn.message.channel, turn.message.user_key, program_id, None)
            lines.append(f"· {names[program_id]} (접수번호 {reference})")
        text = "신청 의사를 기록했어요. 공고가 나오면 담당자가 참고해요.\n" + "\n".join(lines)
        return Reply(texts=(text,), quick_replies=self._next_steps(turn, rules, result), intent="apply_intent")


# ---------------------------------------------------------------------- helpers
def _data(turn: Turn) -> tuple[EligibilityRules, Regions]:
    directory = turn.dialogue.settings.kb_dir
    return load_rules(directory), load_regions(directory)


def next_question(rules: EligibilityRules, values: dict[str, Any], declined: set[str], focus: list[str]) -> str | None:
    """The first askable fact that a program still in play (in `focus`, or any) needs. A program
    that needs a fact the user could not tell stays 확인 필요 whatever else we ask: skip it."""
    open_programs = [
        p
        for p in candidates(rules, values)
        if (not focus or p.program in focus) and not any(f in declined and values.get(f) is None for f in p.facts())
    ]
    for fact in (*ASK_ORDER, *(FOCUS_ASK_ORDER if focus else ())):
        if values.get(fact) is None and fact not in declined and any(fact in p.facts() for p in open_programs):
            return fact
    return None


def _open_programs(rules: EligibilityRules, result: EligibilityResult) -> list[ProgramRules]:
    """The result's programs that no known fact rules out or puts in doubt."""
    shown = {r.program_id for r in result.results}
    return [p for p in candidates(rules, result.facts) if p.program in shown]


def _merge(slots: dict[str, Any], found: Extracted) -> None:
    """Later answers win; a new head count replaces a 10명 미만/이상 answer and the other way round."""
    facts: dict[str, Any] = slots["facts"]
    values = dict(found.values)
    if "employees" in values:
        facts.pop("small_workforce", None)
    elif "small_workforce" in values:
        facts.pop("employees", None)
    if values.get("in_gimpo") is False and "sigungu" not in values:
        facts.pop("sigungu", None)
        facts.pop("eupmyeondong", None)
    for key, value in values.items():
        if value is None:
            facts.pop(key, None)
        else:
            facts[key] = value
    given = {("small_workforce" if k == "employees" else k) for k in values}
    slots["declined"] = [f for f in [*slots["declined"], *found.declined] if f not in given]
    slots["declined"] = list(dict.fromkeys(slots["declined"]))


def _heard(found: Extracted, values: dict[str, Any]) -> str:
    """What this message told us, echoed so a misreading is visible at once."""
    facts = {"small_workforce" if k == "employees" else k for k in found.values}
    facts |= {"in_gimpo"} if {"sigungu", "eupmyeondong"} & facts else set()
    return ", ".join(describe(f, values) for f in FACT_LABELS if f in facts and values.get(f) is not None)


def _facts_line(values: dict[str, Any]) -> str:
    return " · ".join(describe(f, values) for f in FACT_LABELS if values.get(f) is not None)


def _parent(turn: Turn, program_id: str) -> str | None:
    program = turn.dialogue.kb.programs.get(program_id)
    return program.parent if program else None


def _rank(result: ProgramResult) -> int:
    return list(OUTCOME_MARK).index(result.outcome)


def _shown(result: ProgramResult) -> list[Reason]:
    """The reasons that explain the outcome: all for 신청 가능, the open or failed ones otherwise."""
    if result.outcome == "신청 가능":
        return result.reasons
    wanted = "미충족" if result.outcome == "불가" else "확인 필요"
    return [r for r in result.reasons if r.status == wanted]


def _grouped_full(ordered: list[ProgramResult]) -> str:
    blocks = []
    for outcome in OUTCOME_MARK:
        group = [r for r in ordered if r.outcome == outcome]
        if not group:
            continue
        lines = [f"{OUTCOME_MARK[outcome]} {outcome} ({len(group)})"]
        for r in group:
            lines.append(f"· {r.short_name}")
            for reason in _shown(r):
                lines.append(f"  - {reason.text}\n    근거: 「{reason.quote}」")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _grouped_short(ordered: list[ProgramResult]) -> str:
    lines = []
    for outcome in OUTCOME_MARK:
        names = [r.short_name for r in ordered if r.outcome == outcome]
        if names:
            lines.append(f"{OUTCOME_MARK[outcome]} {outcome}: {', '.join(names)}")
    return "\n".join(lines)


def _card(result: ProgramResult) -> Card:
    label = result.short_name
    shown = _shown(result)
    if result.outcome == "신청 가능":
        body = "충족: " + ", ".join(r.requirement for r in shown)
    else:
        body = " ".join(r.text for r in shown)
    return Card(
        title=clip(f"{OUTCOME_MARK[result.outcome]} {label}", MAX_TITLE),
        description=clip(f"{result.outcome} · {body}", MAX_CAROUSEL_DESCRIPTION),
        buttons=(Button("근거 보기", "message", f"{WHY_PREFIX} {label}"),),
    )


def _company_facts(facts: CompanyFacts) -> dict[str, Any]:
    """What a company record can take from the eligibility answers (desk industries: 5대 or 제조업(기타))."""
    sigungu = facts.sigungu or ("김포시" if facts.in_gimpo else None)
    location = " ".join(part for part in (sigungu, facts.eupmyeondong) if part) or None
    industry = facts.representative_industry if facts.representative_industry in INDUSTRIES else None
    if industry is None and facts.is_manufacturer:
        industry = "제조업(기타)"
    return {"location": location, "industry": industry, "employees": facts.employees}
