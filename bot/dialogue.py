"""The dialogue: one message in, one channel-neutral Reply out.

normalise -> NLU parse -> (active flow | quick-reply extra | intent handler) -> answer from KB
fields only. Per-user context (the program being discussed, the active flow) lives in a
`ContextStore`; see `bot.context` and `bot.flows` for the API other flows use.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import lru_cache

from bot import answers
from bot.context import ContextStore, UserState
from bot.eligibility_flow import WHY_PREFIX, EligibilityFlow
from bot.flows import FlowRegistry, Turn
from bot.ports import (
    EMAIL_CHANNELS,
    EMAIL_IN_TEXT,
    AnnouncementPort,
    HandoffPort,
    HandoffRequest,
    OpenAnnouncement,
    SubscriptionPort,
    SubscriptionResult,
)
from bot.render.kakao import MAX_QUICK_REPLIES
from bot.reply import Button, Card, Message, QuickReply, Reply
from core.clock import Clock, SystemClock
from core.settings import Settings
from core.text import compact, normalize_utterance
from knowledge_base.consent import AlertConsent, load_alert_consent
from knowledge_base.schema import INDUSTRIES, PLAN_DOCUMENT, TOPICS, Program, Source, Team
from knowledge_base.store import KnowledgeBase
from nlu.types import INTENTS, Entity, NluBackend, NluResult

# Intents that are about one program: without a program in the message or context, ask which.
PROGRAM_INTENTS = frozenset(
    {"program_overview", "program_budget", "program_support", "program_target", "program_schedule", "apply_intent"}
)
RESTART_WORDS = frozenset({"처음으로", "처음", "취소", "그만", "메뉴", "홈"})
MORE_WORDS = frozenset({"더보기", "더볼래", "다음", "더"})
# Words that turn "지원사업 알려줘" into "which programs are there?" rather than one program.
LIST_WORDS = ("뭐있", "뭐가있", "무슨", "어떤", "목록", "종류", "리스트", "전체", "모든", "뭐뭐")
# Answers that are the same whatever year the question names (no plan facts in them).
YEARLESS_INTENTS = frozenset({"greeting", "help", "thanks", "out_of_scope", "subscribe", "unsubscribe", "handoff"})
# Words that move a question about a program to its 2021 results (출범 이후 주요성과).
PAST_WORDS = ("2021", "작년", "지난해", "21년", "실적", "성과")
# A budget question about the agency as a whole, never about the program in context.
AGENCY_BUDGET_WORDS = ("진흥원", "전체예산", "총예산", "올해예산", "전체사업예산")
TOTAL_BUDGET_TABLE = "programs_2022_budget"
# "X 지원사업": X names a program unless it is one of these words about programs in general.
PROGRAM_PHRASE = re.compile(r"(?:[가-힣A-Za-z0-9]+\s+)?([가-힣A-Za-z0-9]{2,})\s*지원\s*사업")
GENERIC_PROGRAM_WORDS = frozenset({
    "무슨", "어떤", "다른", "그런", "이런", "관련", "전체", "모든", "어느", "우리", "요즘", "올해", "새로운", "신규",
    "김포시", "김포", "진흥원", "기업", "중소기업", "정부", "받을", "있는", "받을수있는", "해당", "해당되는", "추천",
})  # fmt: skip
# A year the question names: '2023년', '2023 공고', '23년도', "'23" (never '2050만원' or '20년 된 설비').
YEAR = re.compile(r"(?<!\d)(?:(20\d{2})(?=\s*년|\s|$|[?.!,])|'(\d{2})(?!\d)|(\d{2})\s*년도)")
PAGE_SIZE = 5
# What "지원사업 뭐 있어요" lists, in this order: the agency's own programs, then the national and
# provincial projects it runs, then the support infrastructure.
LISTED_KINDS = ("support_program", "national_project", "infrastructure")
PARSE_CACHE_SIZE = 8192  # distinct normalised utterances whose NLU result is kept (FIFO)
MAIN_PROGRAMS = (
    "innovation_5_industries",
    "test_analysis",
    "certification",
    "facility_modernization",
    "ev_parts",
    "smart_factory",
)
HANDOFF_FLOW = "handoff"
DESK_PROGRAM = "field_desk"  # the 기업지원 현장데스크 service staff answer hand-offs from
SUBSCRIBE_FLOW = "subscribe"
ALL_TOPICS = "전체"
# Words of a subscribe request itself, never a topic answer.
SUBSCRIBE_FILLER = frozenset({"알림", "알림신청", "신청", "구독"})
# A question about a program, even right after the topic question, is not a topic choice.
PROGRAM_QUESTION_WORDS = (
    "예산", "얼마", "일정", "언제", "대상", "누가", "연락", "전화", "담당", "지원내용", "뭐", "어디",
)  # fmt: skip

_PHONE = re.compile(r"0\d{1,2}-\d{3,4}-\d{4}")
CONSENT_WORDS = frozenset({"동의", "동의합니다", "동의해요", "네", "예", "동의하고구독"})
REFUSAL_WORDS = frozenset({
    "아니요", "아니오", "아니", "아뇨", "싫어요", "싫어", "거부",
    "동의안함", "동의안해요", "동의하지않아요", "안할래요", "됐어요",
})  # fmt: skip

Handler = Callable[[Turn], Awaitable[Reply]]
log = logging.getLogger(__name__)

# Published 공고 beside a schedule answer: how many cards, and how each state is named.
MAX_ANNOUNCEMENT_CARDS = 5
LIVE_ANNOUNCEMENTS = "live_announcements"  # Reply.data: how many 공고 the answer shows
CARD_STATE = {"open": "접수 중", "upcoming": "접수 예정", "see_notice": "공고"}
LEAD_STATE = {"open": "접수 중인", "upcoming": "접수를 앞둔", "see_notice": "게시된"}


class Dialogue:
    def __init__(
        self,
        kb: KnowledgeBase,
        nlu: NluBackend,
        context_store: ContextStore,
        subscriptions: SubscriptionPort | None = None,
        handoff: HandoffPort | None = None,
        clock: Clock | None = None,
        *,
        settings: Settings,
        flows: FlowRegistry | None = None,
        alert_consent: AlertConsent | None = None,
        announcements: AnnouncementPort | None = None,
    ) -> None:
        self.kb = kb
        self.announcements = announcements
        self.nlu = nlu
        self.context = context_store
        self.subscriptions = subscriptions
        self.handoff_port = handoff
        self.clock = clock or SystemClock()
        self.settings = settings
        self.flows = flows or FlowRegistry()
        # The one consent text every channel shows before a first alert subscription.
        self.alert_consent = alert_consent or load_alert_consent()
        self._handlers: dict[str, Handler] = {
            "program_overview": self._overview,
            "program_budget": self._program_handler("program_budget"),
            "program_support": self._program_handler("program_support"),
            "program_target": self._program_handler("program_target"),
            "program_schedule": self._schedule,
            "process": self._process,
            "ratio_payment": self._ratio_payment,
            "contact": self._contact,
            "location": self._location,
            "organization": self._organization,
            "statistics": self._statistics,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "handoff": self._handoff,
            "apply_intent": self._apply_intent,
            "greeting": self._greeting,
            "help": self._greeting,
            "thanks": self._thanks,
            "out_of_scope": self._not_sure,
        }
        if self.flows.for_intent("eligibility") is None:
            self.flows.register(EligibilityFlow())
        if handoff is not None and self.flows.get(HANDOFF_FLOW) is None:
            self.flows.register(HandoffFlow())
        if subscriptions is not None and self.flows.get(SUBSCRIBE_FLOW) is None:
            self.flows.register(SubscribeFlow())
        missing = {i for i in INTENTS if i not in self._handlers and self.flows.for_intent(i) is None}
        if missing:
            raise ValueError(f"no dialogue handler or flow for intents: {sorted(missing)}")
        self._parsed: dict[str, NluResult] = {}
        # The KB never changes while the process runs: texts are built once per (intent, program).
        self._text = lru_cache(maxsize=4096)(self._build_text)
        self._vocabulary: str | None = None
        self._years = {p.year for p in kb.programs.values()}
        self.plan_year = max((p.year for p in kb.applicable_programs()), default=None)
        self.desk_team = self._desk_team()

    # ------------------------------------------------------------------ entry point
    async def respond(self, message: Message) -> Reply:
        state = await self.context.load(message.channel, message.user_key)
        reply = await self._respond(message, state)
        await self.context.save(message.channel, message.user_key, state)
        return reply

    async def _respond(self, message: Message, state: UserState) -> Reply:
        text = normalize_utterance(message.text)
        key = compact(text)
        extra = message.extra or {}
        if key in RESTART_WORDS or extra.get("action") == "restart":
            flow = self.flows.get(state.flow)
            state.end_flow()
            state.program_id = None
            welcome = self.welcome()
            if flow is None:
                return welcome
            # Say so: the welcome alone left people unsure whether their answers were sent.
            cancelled = f"{flow.title}을 취소했어요. 입력하신 내용은 저장하지 않았어요."
            return replace(welcome, texts=(cancelled, *welcome.texts))
        if extra.get("action") == "more" or (key in MORE_WORDS and state.last_intent == "program_list"):
            page = _int(extra.get("page"), state.page + 1)
            return self.program_list(state, page)

        nlu = await self._parse(text, extra)
        named = self._named_program(nlu, key)
        program_id = named or state.program_id
        turn = Turn(message=message, nlu=nlu, state=state, program_id=program_id, dialogue=self, named=named)

        flow = self.flows.get(state.flow)
        if flow is not None:
            reply = await flow.step(turn)
            if reply is not None:
                return reply
            if state.flow == flow.name:
                state.end_flow()
        if not text:
            return self.welcome()
        if text.startswith(WHY_PREFIX):
            return self.stale_why()
        if not named and "예산" in key and any(word in key for word in AGENCY_BUDGET_WORDS):
            total = self.total_budget()
            if total is not None:
                state.last_intent = "statistics"
                return total
        if state.last_intent == "subscribe" and "intent" not in extra and nlu.intent != "unsubscribe":
            # The topic question was answered by typing instead of tapping a quick reply.
            typed = self._typed_topic(key, nlu, named)
            if typed:
                turn.message = replace(message, extra={**extra, "topic": typed})
                return await self._subscribe(turn)
        unknown = None if named else self._unknown_program(text)
        if unknown:
            state.last_intent = "out_of_scope"
            return self.no_such_program(unknown)

        intent = nlu.intent
        if nlu.confidence < self.settings.nlu_confidence_threshold:
            # A program named with an unclear question is most likely "tell me about it".
            intent = "program_overview" if named else "out_of_scope"
        if named:
            state.program_id = named
        other_year = self._other_year(text)
        if intent == "program_overview" and not named and (program_id is None or _asks_for_list(key)):
            return self._for_year(self.program_list(state, 0), other_year)

        starter = self.flows.for_intent(intent)
        if starter is not None:
            state.last_intent = intent
            return await starter.start(turn)
        if intent in PROGRAM_INTENTS and program_id is None:
            state.last_intent = intent
            return self._for_year(self.ask_which_program(intent), other_year)
        state.last_intent = intent
        reply = await self._handlers[intent](turn)
        if intent in YEARLESS_INTENTS:
            other_year = None
        return _with_meta(self._for_year(reply, other_year), intent, nlu.confidence)

    async def _parse(self, text: str, extra: dict[str, str]) -> NluResult:
        """Quick replies carry their intent and program in `extra`: trust them when valid."""
        intent = extra.get("intent")
        if intent in INTENTS:
            program = extra.get("program")
            entities = ()
            if program in self.kb.programs:
                entities = (Entity(entity="program", value=program, text=program),)
            return NluResult(text=text, intent=intent, confidence=1.0, entities=entities, backend="quick_reply")
        if not text:
            return NluResult(text="", intent="greeting", confidence=1.0)
        # The same questions come again and again (menus, FAQs): parse each normalised text once.
        cached = self._parsed.get(text)
        if cached is None:
            cached = await self.nlu.parse(text)
            # A result from a fallback (Rasa down: the embedded model answered) is not kept, so the
            # text goes to the configured backend again once it is back.
            if cached.backend != getattr(self.nlu, "name", cached.backend):
                return cached
            if len(self._parsed) >= PARSE_CACHE_SIZE:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[text] = cached
        return cached

    def _named_program(self, nlu: NluResult, key: str) -> str | None:
        """The program the message names: the most specific one ('전기차 기술협업' names both the
        EV program and its 기술협업 part), and its 2021 result when the question is about 2021."""
        named = [value for value in dict.fromkeys(nlu.values("program")) if value in self.kb.programs]
        if not named:
            return None
        children = [pid for pid in named if self.kb.programs[pid].parent in named]
        chosen = children[0] if children else named[0]
        if any(word in key for word in PAST_WORDS) and f"result_2021_{chosen}" in self.kb.programs:
            return f"result_2021_{chosen}"
        return chosen

    def _unknown_program(self, text: str) -> str | None:
        """'수출 바우처 지원사업' when no program of the KB carries that word: the phrase, else None."""
        match = PROGRAM_PHRASE.search(text)
        if match is None or match.group(1) in GENERIC_PROGRAM_WORDS or YEAR.match(match.group(1)):
            return None
        if compact(match.group(1)) in self._program_vocabulary():
            return None
        return match.group(0)

    def _other_year(self, text: str) -> int | None:
        """The first year the question names that the KB has nothing about (2023: the plan is 2022's)."""
        for match in YEAR.finditer(text):
            year = int(match.group(1) or "20" + (match.group(2) or match.group(3)))
            if year not in self._years:
                return year
        return None

    def _for_year(self, reply: Reply, year: int | None) -> Reply:
        """Says first that the year asked about is not in the KB, the plan's facts then given as a
        reference, and offers the alert for the announcements the KB cannot have."""
        if year is None or self.plan_year is None or reply.data.get(LIVE_ANNOUNCEMENTS):
            # With a published 공고 the answer already leads with it and calls the plan a reference.
            return reply
        note = (
            f"{year}년 정보는 없어요. 제가 가진 자료는 {PLAN_DOCUMENT}뿐이라, "
            f"아래는 참고용 {self.plan_year}년 계획 내용이에요. 새 공고 소식은 '알림 신청'으로 받아 보실 수 있어요."
        )
        texts = (f"{note}\n\n{reply.texts[0]}", *reply.texts[1:]) if reply.texts else (note,)
        alert = self.alert_quick_reply()
        quick = reply.quick_replies if alert in reply.quick_replies else (alert, *reply.quick_replies)
        return replace(reply, texts=texts, quick_replies=quick[:MAX_QUICK_REPLIES])

    def _program_vocabulary(self) -> str:
        if self._vocabulary is None:
            self._vocabulary = "|".join(compact(" ".join(_program_words(p))) for p in self.kb.programs.values())
        return self._vocabulary

    # ------------------------------------------------------------------ shared replies
    def _build_text(self, intent: str, program_id: str | None, focus: str | None = None) -> str:
        kb = self.kb
        program = kb.programs.get(program_id) if program_id else None
        builders: dict[str, Callable[[], str]] = {
            "program_overview": lambda: answers.overview(kb, program),
            "program_budget": lambda: answers.budget(kb, program),
            "program_support": lambda: answers.support(kb, program),
            "program_target": lambda: answers.target(kb, program),
            "program_schedule": lambda: answers.schedule(kb, program, focus),
            "process": lambda: answers.process(kb.common_rules, program),
            "ratio_payment": lambda: answers.ratio_payment(kb.common_rules, program),
            "contact": lambda: answers.contact(kb, program) if program else answers.general_contact(kb),
            "location": lambda: answers.location(kb, program),
            "organization": lambda: answers.organization(kb.organization, kb),
        }
        return builders[intent]()

    def _desk_team(self) -> Team | None:
        """The line offered with '현장데스크 상담': the desk's own team when the KB names one, else
        the team running most of the applicable programs (the plan names no team for the desk)."""
        desk = self.kb.programs.get(DESK_PROGRAM)
        if desk is not None and (team := self.kb.team_of(desk)) is not None:
            return team
        counts = Counter(p.team for p in self.kb.applicable_programs() if p.team in self.kb.teams)
        return self.kb.teams[counts.most_common(1)[0][0]] if counts else None

    def desk_phone(self) -> str | None:
        return self.desk_team.phone if self.desk_team else None

    def desk_line(self) -> str:
        team = self.desk_team
        return f"{team.name} {team.phone}" if team else ""

    def person_quick_replies(self) -> tuple[QuickReply, ...]:
        return (
            QuickReply("인기 질문", "도움말", {"intent": "help"}),
            QuickReply("처음으로", "처음으로", {"action": "restart"}),
            QuickReply("현장데스크 상담", "현장데스크 상담 신청", {"intent": "handoff"}),
        )

    def program_quick_replies(self, program: Program) -> tuple[QuickReply, ...]:
        name = program.short_name or program.name
        options = (
            ("예산·규모", "program_budget", "예산"),
            ("지원내용", "program_support", "지원내용"),
            ("신청대상", "program_target", "지원대상"),
            ("일정", "program_schedule", "일정"),
            ("담당자 연락처", "contact", "담당자"),
        )
        replies = [
            QuickReply(label, f"{name} {word}", {"intent": intent, "program": program.id})
            for label, intent, word in options
        ]
        replies.append(QuickReply("상담 신청", "현장데스크 상담 신청", {"intent": "handoff", "program": program.id}))
        replies.append(QuickReply("처음으로", "처음으로", {"action": "restart"}))
        return tuple(replies)

    def main_program_quick_replies(self, intent: str | None = None) -> tuple[QuickReply, ...]:
        replies = []
        for pid in MAIN_PROGRAMS:
            program = self.kb.programs.get(pid)
            if program is None:
                continue
            name = program.short_name or program.name
            extra = {"program": pid, "intent": intent or "program_overview"}
            replies.append(QuickReply(name, name, extra))
        replies.append(QuickReply("전체 목록", "지원사업 목록", {"action": "more", "page": "0"}))
        return tuple(replies)

    def alert_quick_reply(self) -> QuickReply:
        return QuickReply("알림 신청", "알림 신청", {"intent": "subscribe"})

    def welcome(self) -> Reply:
        return Reply(
            texts=(
                "안녕하세요, 김포산업진흥원 기업지원 챗봇입니다.\n"
                "지원사업의 예산·지원내용·신청대상·일정, 신청 절차와 지원 비율, 담당 부서 연락처를 "
                "2022년 주요업무계획에서 찾아 알려드려요. 알림 신청과 현장데스크 상담 연결도 할 수 있어요.",
            ),
            quick_replies=(
                QuickReply("지원사업 목록", "지원사업 목록", {"action": "more", "page": "0"}),
                QuickReply(
                    "시험분석비 예산",
                    "시험분석비 지원사업 예산",
                    {"intent": "program_budget", "program": "test_analysis"},
                ),
                QuickReply("신청 절차", "신청 절차", {"intent": "process"}),
                QuickReply("지원 비율", "지원 비율", {"intent": "ratio_payment"}),
                QuickReply("담당자 연락처", "담당자 연락처", {"intent": "contact"}),
                self.alert_quick_reply(),
                QuickReply("현장데스크 상담", "현장데스크 상담 신청", {"intent": "handoff"}),
            ),
            intent="help",
        )

    def not_sure(self, reason: str = "") -> Reply:
        line = self.desk_line()
        text = answers.join_lines(
            reason or "죄송해요, 그 질문은 제가 정확히 답하기 어려워요.",
            "지원사업·신청 절차·연락처 질문은 도와드릴 수 있어요.",
            f"사람과 상담하시려면 '현장데스크 상담'을 누르시거나 {line}로 전화 주세요." if line else "",
            answers.cite(self.desk_team.source) if self.desk_team else "",
        )
        return Reply(texts=(text,), quick_replies=self.person_quick_replies(), handoff=True, intent="out_of_scope")

    def total_budget(self) -> Reply | None:
        table = self.kb.tables.get(TOTAL_BUDGET_TABLE)
        if table is None:
            return None
        text = answers.total_budget(table)
        if text is None:
            return None
        return Reply(
            texts=(text,),
            quick_replies=(
                QuickReply("사업별 예산", table.title, {"intent": "statistics", "table": table.id}),
                *self.main_program_quick_replies("program_budget"),
            ),
            sources=(table.source.cite(),),
            intent="statistics",
        )

    def stale_why(self) -> Reply:
        """A '근거 보기' button of an eligibility result after the check ended: its answers are gone."""
        return Reply(
            texts=("그 자격 확인 결과가 지났어요. 판정 근거를 보시려면 자격 확인을 다시 해 주세요.",),
            quick_replies=(
                QuickReply("자격 다시 확인", "우리 회사가 받을 수 있는 지원사업 확인", {"intent": "eligibility"}),
                *self.person_quick_replies(),
            ),
            intent="eligibility",
        )

    def no_such_program(self, phrase: str) -> Reply:
        text = answers.join_lines(
            f"'{phrase}'은(는) 김포산업진흥원 2022년 주요업무계획에 없는 사업이에요.",
            "계획에 있는 지원사업 목록을 보시거나, 현장데스크에서 다른 기관의 사업도 상담받으실 수 있어요.",
        )
        return Reply(
            texts=(text,),
            quick_replies=(
                QuickReply("지원사업 목록", "지원사업 목록", {"action": "more", "page": "0"}),
                *self.person_quick_replies(),
            ),
            intent="out_of_scope",
        )

    def ask_which_program(self, intent: str) -> Reply:
        return Reply(
            texts=("어느 지원사업이 궁금하세요? 아래에서 고르시거나 사업 이름을 말씀해 주세요.",),
            quick_replies=self.main_program_quick_replies(intent),
            intent=intent,
        )

    def program_list(self, state: UserState, page: int) -> Reply:
        programs = [
            p
            for kind in LISTED_KINDS
            for p in self.kb.programs.values()
            if p.kind == kind and p.year == 2022 and not p.parent
        ]
        pages = max(1, -(-len(programs) // PAGE_SIZE))
        page = max(0, min(page, pages - 1))
        state.page = page
        state.last_intent = "program_list"
        shown = programs[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        cards = tuple(
            Card(
                title=p.name,
                description=answers.short_figures(p) or p.summary,
                buttons=(Button("자세히", "message", f"{p.short_name or p.name} 알려줘"),),
            )
            for p in shown
        )
        quick = []
        if page + 1 < pages:
            quick.append(QuickReply("더보기", "더보기", {"action": "more", "page": str(page + 1)}))
        quick.append(QuickReply("처음으로", "처음으로", {"action": "restart"}))
        # One line for the whole page: the sections' top level (e.g. 'IV. 2022년 주요업무계획').
        sources = [Source(document=p.source.document, section=p.source.section.split(" · ")[0]) for p in shown]
        first = page * PAGE_SIZE + 1
        header = (
            f"2022년 기업지원사업 {len(programs)}개 중 {first}~{first + len(shown) - 1}번째예요 ({answers.PLAN_NOTE})."
        )
        return Reply(
            texts=(f"{header}\n{answers.cite(*sources)}",),
            cards=cards,
            quick_replies=tuple(quick),
            sources=tuple(s.cite() for s in sources),
            intent="program_overview",
        )

    # ------------------------------------------------------------------ handlers
    def _program_reply(self, intent: str, program_id: str, focus: str | None = None) -> Reply:
        program = self.kb.programs[program_id]
        text = self._text(intent, program_id, focus)
        return Reply(texts=(text,), quick_replies=self.program_quick_replies(program), sources=(_source_of(text),))

    def _program_handler(self, intent: str) -> Handler:
        async def handler(turn: Turn) -> Reply:
            assert turn.program_id is not None  # guarded in _respond
            return self._program_reply(intent, turn.program_id)

        return handler

    async def _schedule(self, turn: Turn) -> Reply:
        assert turn.program_id is not None
        # Cached per focus word too: a handful of texts per program, whatever the wording.
        focus = answers.schedule_focus(turn.message.text)
        reply = self._program_reply("program_schedule", turn.program_id, focus)
        # The plan's dates are a past year's: a 공고 open now is the real answer, and the alert is
        # how a company hears of the next one.
        quick = (self.alert_quick_reply(), *reply.quick_replies)
        shown = await self._open_announcements(turn.program_id)
        if not shown:
            return replace(reply, quick_replies=quick)
        # What is open now comes first; the plan's table follows as the reference it is.
        texts = (f"{announcements_lead(shown)}\n\n{reply.texts[0]}", *reply.texts[1:])
        cards = tuple(announcement_card(ann) for ann in shown[:MAX_ANNOUNCEMENT_CARDS])
        return replace(reply, texts=texts, cards=cards, quick_replies=quick, data={LIVE_ANNOUNCEMENTS: len(shown)})

    async def _open_announcements(self, program_id: str) -> list[OpenAnnouncement]:
        if self.announcements is None:
            return []
        try:
            return await self.announcements.open_for(program_id)
        except Exception:
            # The plan's schedule is still an answer; the 공고 will be there on the next question.
            log.exception("open announcements of %s could not be read", program_id)
            return []

    async def _overview(self, turn: Turn) -> Reply:
        assert turn.program_id is not None
        return self._program_reply("program_overview", turn.program_id)

    def _general(self, intent: str, program_id: str | None = None, quick: tuple[QuickReply, ...] = ()) -> Reply:
        text = self._text(intent, program_id)
        return Reply(
            texts=(text,),
            quick_replies=quick or self.person_quick_replies()[:2],
            sources=(_source_of(text),),
        )

    async def _process(self, turn: Turn) -> Reply:
        # The program in context too: "어떻게 신청하나요" right after a program means that one.
        return self._general("process", turn.program_id)

    async def _ratio_payment(self, turn: Turn) -> Reply:
        program = self.kb.programs.get(turn.program_id) if turn.program_id else None
        quick = self.program_quick_replies(program) if program else ()
        return self._general("ratio_payment", turn.program_id, quick)

    async def _contact(self, turn: Turn) -> Reply:
        reply = self._general("contact", turn.program_id)
        phone = _first_phone(reply.texts[0])
        if phone:
            card = Card(title="전화 연결", description=phone, buttons=(Button("전화하기", "phone", phone),))
            return Reply(texts=reply.texts, cards=(card,), quick_replies=reply.quick_replies, sources=reply.sources)
        return reply

    async def _location(self, turn: Turn) -> Reply:
        program = self.kb.programs.get(turn.program_id) if turn.program_id else None
        return self._general("location", program.id if program and program.place else None)

    async def _organization(self, turn: Turn) -> Reply:
        return self._general("organization")

    async def _statistics(self, turn: Turn) -> Reply:
        tables = list(self.kb.tables.values())
        if not tables:
            return self.not_sure("통계 자료가 지식베이스에 없습니다.")
        key = compact(turn.nlu.text)
        requested = turn.message.extra.get("table") if turn.message.extra else None
        table = self.kb.tables.get(requested or "") or max(tables, key=lambda t: _overlap(key, compact(t.title)))
        text = answers.statistics(table)
        quick = (
            *tuple(
                QuickReply(_label(_short_title(t.title)), t.title, {"intent": "statistics", "table": t.id})
                for t in tables
                if t.id != table.id
            )[:8],
            QuickReply("처음으로", "처음으로", {"action": "restart"}),
        )
        return Reply(texts=(text,), quick_replies=quick, sources=(table.source.cite(),))

    def topics(self) -> list[str]:
        """Alert topics offered as quick replies: the 5 대표산업 (then 전체)."""
        return list(INDUSTRIES)

    async def _subscribe(self, turn: Turn) -> Reply:
        channel = self.kb.programs.get("alert_channel")
        if self.subscriptions is None:
            how = answers.how_to_apply(self.kb, channel) if channel else ""
            text = answers.join_lines(
                "알림은 카카오톡 채널 '김포시 기업지원사업알리미'로 받으실 수 있어요.",
                how or (channel.summary if channel else ""),
                answers.cite(channel.source) if channel else "",
            )
            return Reply(texts=(text,), quick_replies=self.person_quick_replies()[:2], intent="subscribe")
        topic = (turn.message.extra or {}).get("topic") or _topic_named(turn.nlu) or self._program_topic(turn.named)
        by_email = turn.message.channel in EMAIL_CHANNELS
        if topic:
            # Answered: a later message naming a topic is a new question, not this choice.
            turn.state.last_intent = None
            return await self.start_subscription(turn, [topic])
        quick = (
            *tuple(QuickReply(_label(t), f"{t} 알림 신청", {"intent": "subscribe", "topic": t}) for t in self.topics()),
            QuickReply(ALL_TOPICS, "전체 알림 신청", {"intent": "subscribe", "topic": ALL_TOPICS}),
        )
        how = f"({channel.name}: {' → '.join(channel.how_to_apply)})" if channel and channel.how_to_apply else ""
        return Reply(
            texts=(
                answers.join_lines(
                    "어떤 분야의 지원사업 공고 알림을 받으시겠어요? "
                    + (
                        "고르시면 받으실 이메일 주소를 여쭙고 수신 동의 내용을 보여 드려요."
                        if by_email
                        else "고르시면 수신 동의 내용을 보여 드려요."
                    ),
                    how,
                ),
            ),
            quick_replies=quick,
            intent="subscribe",
        )

    async def start_subscription(self, turn: Turn, topics: list[str]) -> Reply:
        """Every channel: the consent text before a first subscription (after the e-mail address
        on the web chat and the CLI, whose subscriptions the address's owner then confirms by mail).
        A Kakao or Telegram user who already subscribes has agreed: topics are added at once."""
        assert self.subscriptions is not None
        state = turn.state
        # A flow under way (the eligibility result's next steps) resumes once this one is done.
        resume = {"flow": state.flow, "slots": state.slots} if state.flow and state.flow != SUBSCRIBE_FLOW else None
        if turn.message.channel in EMAIL_CHANNELS:
            state.start_flow(SUBSCRIBE_FLOW, topics=topics, resume=resume)
            return Reply(
                texts=(f"{', '.join(topics)} 공고 알림을 이메일로 보내 드릴게요. 받으실 이메일 주소를 알려 주세요.",),
                quick_replies=(QuickReply("취소", "취소", {"action": "restart"}),),
                intent="subscribe",
            )
        if await self.subscriptions.topics_of(turn.message):
            result = await self.subscriptions.subscribe(turn.message, topics, consent=True)
            return self.subscribed(result)
        state.start_flow(SUBSCRIBE_FLOW, topics=topics, resume=resume)
        return self.ask_consent(state.slots)

    def ask_consent(self, slots: dict) -> Reply:
        """Shows the consent text and keeps it in the flow: what is recorded is what was shown."""
        consent = self.alert_consent.consent(self.settings.quiet_hours_start, self.settings.quiet_hours_end)
        slots["consent_text"] = consent
        label = self.alert_consent.agree_label
        return Reply(
            texts=(self.alert_consent.ask(slots["topics"], consent),),
            quick_replies=(
                QuickReply(label, label, {"consent": "yes"}),
                QuickReply("취소", "취소", {"action": "restart"}),
            ),
            intent="subscribe",
        )

    def subscribed(self, result: SubscriptionResult) -> Reply:
        text = result.message or (
            f"알림을 신청했어요: {', '.join(result.topics) or ALL_TOPICS}. 해지하려면 '알림 해지'라고 보내 주세요."
            if result.ok
            else "알림 신청을 처리하지 못했어요. 잠시 후 다시 시도해 주세요."
        )
        return Reply(texts=(text,), quick_replies=self.person_quick_replies()[:2], intent="subscribe")

    def _program_topic(self, program_id: str | None, industries_only: bool = True) -> str | None:
        """'전기차 알림': the industry of the program named (the alert topics are its KB topics)."""
        program = self.kb.programs.get(program_id) if program_id else None
        if program is None:
            return None
        topics = [t for t in program.topics if t in INDUSTRIES] or ([] if industries_only else program.topics)
        return topics[0] if topics else None

    def _typed_topic(self, key: str, nlu: NluResult, named: str | None) -> str | None:
        if key in SUBSCRIBE_FILLER or any(word in key for word in PROGRAM_QUESTION_WORDS):
            return None
        spelled = next(
            (t for t in sorted(TOPICS, key=len, reverse=True) if t in key and t not in SUBSCRIBE_FILLER), None
        )
        return _topic_named(nlu) or spelled or self._program_topic(named, industries_only=False)

    async def _unsubscribe(self, turn: Turn) -> Reply:
        if self.subscriptions is None:
            return self.not_sure("이 채널에서는 알림 해지를 바로 처리할 수 없어요.")
        if turn.message.channel in EMAIL_CHANNELS:
            # Ending a subscription by typing an address would let anyone end anyone's: the link
            # in each e-mail carries the subscriber's own token.
            return Reply(
                texts=(
                    "이메일 알림은 받으신 알림 메일 아래의 '수신 거부' 링크를 누르시면 바로 해지돼요. "
                    "카카오톡이나 텔레그램 알림은 그 채널에서 '알림 해지'라고 보내 주세요.",
                ),
                quick_replies=self.person_quick_replies()[:2],
                intent="unsubscribe",
            )
        result = await self.subscriptions.unsubscribe(turn.message)
        text = result.message or (
            "알림을 해지했어요. 다시 받으시려면 '알림 신청'이라고 보내 주세요."
            if result.ok
            else "해지할 알림 신청이 없어요."
        )
        return Reply(texts=(text,), quick_replies=self.person_quick_replies()[:2], intent="unsubscribe")

    async def _handoff(self, turn: Turn) -> Reply:
        desk = self.kb.programs.get(DESK_PROGRAM)
        phone = self.desk_phone()
        intro = answers.join_lines(
            f"[{desk.name}] {desk.summary}" if desk else "",
            f"· 장소: {desk.place}" if desk and desk.place else "",
            f"· 전화: {self.desk_line()}" if phone else "",
            answers.cite(desk.source) if desk else "",
        )
        if self.handoff_port is None:
            cards = (
                (Card(title="전화 상담", description=self.desk_line(), buttons=(Button("전화하기", "phone", phone),)),)
                if phone
                else ()
            )
            return Reply(texts=(intro,), cards=cards, quick_replies=self.person_quick_replies()[:2], handoff=True)
        turn.state.start_flow(HANDOFF_FLOW, program=turn.program_id)
        return Reply(
            texts=(intro, "상담을 신청하시려면 회사 이름을 알려 주세요. (그만두려면 '취소')"),
            quick_replies=(QuickReply("취소", "취소", {"action": "restart"}),),
            handoff=True,
        )

    async def _apply_intent(self, turn: Turn) -> Reply:
        assert turn.program_id is not None
        program = self.kb.programs[turn.program_id]
        team = self.kb.team_of(program)
        lines = []
        if self.handoff_port is not None:
            reference = await self.handoff_port.record_intent(
                turn.message.channel, turn.message.user_key, program.id, None
            )
            lines.append(f"{program.name} 신청 의향을 기록했어요 (접수번호 {reference}). 공고가 나오면 알려드릴게요.")
        else:
            lines.append(f"{program.name} 신청 방법이에요.")
        lines.append(answers.how_to_apply(self.kb, program) or self._text("process", None).split("\n")[1])
        if team:
            lines.append(f"문의: {team.name} {team.phone}")
        lines.append(answers.cite(program.source))
        return Reply(texts=(answers.join_lines(*lines),), quick_replies=self.program_quick_replies(program))

    async def _greeting(self, turn: Turn) -> Reply:
        return self.welcome()

    async def _thanks(self, turn: Turn) -> Reply:
        return Reply(
            texts=("도움이 되었다니 다행이에요. 더 궁금한 점이 있으면 언제든 물어봐 주세요.",),
            quick_replies=self.person_quick_replies()[:2],
        )

    async def _not_sure(self, turn: Turn) -> Reply:
        return self.not_sure()


class HandoffFlow:
    """company name -> contact -> topic -> consent ('동의') -> HandoffPort.create_handoff."""

    name = HANDOFF_FLOW
    title = "상담 신청"
    triggers: tuple[str, ...] = ()  # started by the handoff handler, which first shows the desk

    async def start(self, turn: Turn) -> Reply:
        return await turn.dialogue._handoff(turn)

    async def step(self, turn: Turn) -> Reply | None:
        dialogue = turn.dialogue
        slots = turn.state.slots
        answer = turn.message.text.strip()
        cancel = (QuickReply("취소", "취소", {"action": "restart"}),)
        if not answer:
            return Reply(texts=("내용을 입력해 주세요. 그만두려면 '취소'라고 보내 주세요.",), quick_replies=cancel)
        if "company" not in slots:
            slots["company"] = answer[:100]
            return Reply(texts=("연락받으실 전화번호나 이메일을 알려 주세요.",), quick_replies=cancel)
        if "contact" not in slots:
            slots["contact"] = answer[:100]
            return Reply(texts=("어떤 내용을 상담받고 싶으세요? (예: 스마트공장, 수출, 자금)",), quick_replies=cancel)
        if "topic" not in slots:
            slots["topic"] = answer[:500]
            named = [value for value in turn.nlu.values("program") if value in dialogue.kb.programs]
            # The desk itself is where the request goes, not a program discussed ("현장데스크 상담 신청").
            found = [*named, *([slots["program"]] if slots.get("program") else [])]
            slots["programs"] = [pid for pid in dict.fromkeys(found) if pid != DESK_PROGRAM]
            return Reply(
                texts=(
                    "상담을 위해 회사 이름, 연락처, 상담 내용을 진흥원이 보관하고 담당자가 연락드리는 데 씁니다. "
                    "동의하시면 '동의'를 눌러 주세요.",
                ),
                quick_replies=(QuickReply("동의", "동의"), *cancel),
            )
        if compact(answer) not in CONSENT_WORDS:
            turn.state.end_flow()
            return Reply(
                texts=("동의하지 않으셔서 상담 신청을 접수하지 않았어요.",),
                quick_replies=dialogue.person_quick_replies(),
            )
        port = dialogue.handoff_port
        if port is None:
            turn.state.end_flow()
            return None
        programs = tuple(slots.get("programs") or ())
        facts = slots.get("company_facts") or {}
        reference = await port.create_handoff(
            HandoffRequest(
                channel=turn.message.channel,
                user_key=turn.message.user_key,
                company_name=slots["company"],
                contact=slots["contact"],
                topic=slots["topic"],
                program_ids=programs,
                transcript=slots.get("transcript", ""),  # e.g. the eligibility result it came from
                categories=(_handoff_category(dialogue.kb, slots["topic"], programs),),
                location=facts.get("location"),
                industry=facts.get("industry"),
                employees=facts.get("employees"),
            )
        )
        turn.state.end_flow()
        phone = dialogue.desk_phone()
        return Reply(
            texts=(
                f"상담 신청을 접수했어요 (접수번호 {reference}). "
                f"담당자가 {dialogue.settings.business_hours}에 연락드려요."
                + (f" 급하시면 {phone}로 전화 주세요." if phone else ""),
            ),
            quick_replies=dialogue.person_quick_replies()[:2],
            handoff=True,
        )


class SubscribeFlow:
    """Alerts on every channel: topics (chosen before) -> [web/CLI: e-mail address] -> the consent
    text -> '동의하고 구독' -> SubscriptionPort.subscribe with the text shown (e-mail: pending until
    the address's owner confirms through the mailed link)."""

    name = SUBSCRIBE_FLOW
    title = "알림 신청"
    triggers: tuple[str, ...] = ()  # started by the subscribe handler once a topic is chosen

    async def start(self, turn: Turn) -> Reply:
        return await turn.dialogue._subscribe(turn)

    async def step(self, turn: Turn) -> Reply | None:
        dialogue = turn.dialogue
        slots = turn.state.slots
        text = turn.message.text.strip()
        extra = turn.message.extra or {}
        if extra.get("intent") == "subscribe":
            _resume(turn)
            return None  # another topic tapped: the subscribe handler starts over with it
        if "action" in extra:
            # A button of the reply before (the eligibility result's next steps): that flow answers it.
            _resume(turn)
            previous = dialogue.flows.get(turn.state.flow)
            return await previous.step(turn) if previous is not None else None
        if turn.message.channel in EMAIL_CHANNELS and "email" not in slots:
            found = EMAIL_IN_TEXT.search(text)
            if found is None:
                if "@" not in text:
                    _resume(turn)
                    return None  # another question: the flow ends and it is answered as usual
                return Reply(
                    texts=("이메일 주소 형식이 아니에요. 예: name@company.co.kr 처럼 적어 주세요.",),
                    quick_replies=(QuickReply("취소", "취소", {"action": "restart"}),),
                )
            slots["email"] = found.group(0)
            return dialogue.ask_consent(slots)
        _resume(turn)
        if extra.get("consent") != "yes" and compact(text) not in CONSENT_WORDS:
            if compact(text) in REFUSAL_WORDS:
                refused = "동의하지 않으셔서 알림을 신청하지 않았어요."
                return Reply(texts=(refused,), quick_replies=dialogue.person_quick_replies())
            return None  # a question instead of an answer: nothing subscribed, the question answered
        port = dialogue.subscriptions
        if port is None or "consent_text" not in slots:
            return None
        topics, address, consent = list(slots["topics"]), slots.get("email"), slots["consent_text"]
        result = await port.subscribe(turn.message, topics, consent=True, address=address, consent_text=consent)
        return dialogue.subscribed(result)


def _resume(turn: Turn) -> None:
    """End the subscribe flow, giving the user back the flow it interrupted (if any)."""
    resume = turn.state.slots.get("resume")
    turn.state.end_flow()
    if resume:
        turn.state.start_flow(resume["flow"], **resume["slots"])


# Topic words that name a desk category outright (desk.models.CATEGORIES), checked in this order.
CATEGORY_WORDS = (
    ("스마트공장", ("스마트공장", "스마트팩토리")),
    ("수출", ("수출", "해외", "바이어")),
    ("금융", ("자금", "대출", "보증", "융자", "금융")),
)


def _handoff_category(kb: KnowledgeBase, topic: str, program_ids: tuple[str, ...]) -> str:
    key = compact(topic)
    for category, words in CATEGORY_WORDS:
        if any(word in key for word in words):
            return category
    if "smart_factory" in program_ids:
        return "스마트공장"
    if program_ids or "지원사업" in key:
        return "지원사업"
    return "기타"


def _with_meta(reply: Reply, intent: str, confidence: float) -> Reply:
    return replace(reply, intent=reply.intent or intent, confidence=confidence)


def _source_of(text: str) -> str:
    last = text.rsplit("\n", 1)[-1]
    return last.removeprefix("출처: ") if last.startswith("출처: ") else ""


def _first_phone(text: str) -> str | None:
    match = _PHONE.search(text)
    return match.group(0) if match else None


def _program_words(program: Program) -> list[str]:
    """What a program's text says about it. A service only by its name: its summary lists what it
    advises on (현장데스크: '금융, 수출, ...'), subjects of a consultation, not programs of the plan."""
    names = [program.name, program.short_name or ""]
    if program.kind == "service":
        return names
    return [*names, program.summary, *program.support, *program.target, *program.details]


def _asks_for_list(key: str) -> bool:
    return any(word in key for word in LIST_WORDS)


def _overlap(a: str, b: str) -> int:
    return sum(1 for i in range(len(b) - 1) if b[i : i + 2] in a)


def _topic_named(nlu: NluResult) -> str | None:
    """'전기자동차 알림 신청' subscribes to that industry; '전체 알림' to everything."""
    industries = [value for value in nlu.values("industry") if value in INDUSTRIES]
    if industries:
        return industries[0]
    return ALL_TOPICS if ALL_TOPICS in compact(nlu.text) else None


def _short_title(title: str) -> str:
    """'김포시 제조업 현황 (종사자규모별)' -> '제조업 (종사자규모별)': fits a 14-character label."""
    return title.removeprefix("김포시 ").replace("현황 (", "(").replace(" 현황", "")


def _label(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def announcement_card(ann: OpenAnnouncement) -> Card:
    linked = ann.url is not None and ann.url.startswith(("https://", "http://"))
    buttons = (Button("공고 보기", "webLink", ann.url),) if linked and ann.url else ()
    return Card(title=f"[{CARD_STATE[ann.state]}] {ann.title}", description=f"접수 기간: {ann.period}", buttons=buttons)


def announcements_lead(shown: list[OpenAnnouncement]) -> str:
    """The first lines of a schedule answer when the program has published 공고."""
    if len(shown) == 1:
        ann = shown[0]
        return (
            f"지금 {LEAD_STATE[ann.state]} 공고가 있어요: {ann.title}\n"
            f"접수 기간: {ann.period}\n"
            f"공고문은 아래 카드에서 확인해 주세요. 아래 일정은 참고용 {PLAN_DOCUMENT} 내용이에요."
        )
    more = f"(가까운 마감 순으로 {MAX_ANNOUNCEMENT_CARDS}건)" if len(shown) > MAX_ANNOUNCEMENT_CARDS else ""
    return (
        f"지금 게시된 공고가 {len(shown)}건 있어요. 아래 카드{more}에서 접수 기간과 공고문을 확인해 주세요.\n"
        f"가장 가까운 마감: {shown[0].period}\n"
        f"아래 일정은 참고용 {PLAN_DOCUMENT} 내용이에요."
    )
