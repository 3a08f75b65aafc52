"""A keyword NLU for dialogue unit tests: predictable, so the tests check the dialogue, not a model."""

from __future__ import annotations

from nlu.types import Entity, NluResult

KEYWORDS: tuple[tuple[str, str], ...] = (
    ("예산", "program_budget"),
    ("언제", "program_schedule"),
    ("일정", "program_schedule"),
    ("대상", "program_target"),
    ("뭘지원", "program_support"),
    ("절차", "process"),
    ("비율", "ratio_payment"),
    ("전화", "contact"),
    ("연락처", "contact"),
    ("주소", "location"),
    ("어디", "location"),
    ("통계", "statistics"),
    ("알림해지", "unsubscribe"),
    ("알림", "subscribe"),
    ("상담", "handoff"),
    ("받을수있", "eligibility"),
    ("신청할게", "apply_intent"),
    ("안녕", "greeting"),
    ("고마", "thanks"),
    ("알려줘", "program_overview"),
    ("지원사업", "program_overview"),
)
PROGRAMS = {
    "시험분석": "test_analysis",
    "스마트공장": "smart_factory",
    "현장데스크": "field_desk",
    "콤프레샤": "compressor_replacement",
}


class KeywordNlu:
    name = "keyword"

    def __init__(self) -> None:
        self.calls = 0

    async def parse(self, text: str) -> NluResult:
        self.calls += 1
        key = text.replace(" ", "")
        entities = tuple(Entity("program", pid, word) for word, pid in PROGRAMS.items() if word in key)
        for word, intent in KEYWORDS:
            if word in key:
                return NluResult(text=text, intent=intent, confidence=0.9, entities=entities, backend=self.name)
        confidence = 0.3 if entities else 0.9
        return NluResult(text=text, intent="out_of_scope", confidence=confidence, entities=entities, backend=self.name)
