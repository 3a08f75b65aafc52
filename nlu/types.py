"""What every NLU backend returns, and the interface they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# The intents every backend knows; nlu/data holds their examples.
INTENTS: tuple[str, ...] = (
    "program_overview",  # 시험분석비 지원사업 알려줘 / 지원사업 뭐 있어요
    "program_budget",  # 예산 얼마, 몇 개사
    "program_support",  # 뭘 지원해줘요
    "program_target",  # 누가 신청할 수 있어요
    "program_schedule",  # 언제 접수해요
    "process",  # 신청 절차
    "ratio_payment",  # 지원 비율, 지원금 지급
    "contact",  # 담당 부서, 전화번호
    "location",  # 위치, 주소
    "organization",  # 진흥원 소개, 조직, 연혁, 이사회
    "statistics",  # 김포시 산업 현황
    "subscribe",  # 알림 신청
    "unsubscribe",  # 알림 해지
    "handoff",  # 상담원 연결, 현장데스크 상담 신청
    "eligibility",  # 우리 회사도 받을 수 있나요
    "apply_intent",  # 이 사업 신청할게요
    "greeting",
    "help",
    "thanks",
    "out_of_scope",
)


@dataclass(frozen=True)
class Entity:
    entity: str  # "program", "industry", ...
    value: str  # canonical value (a program id, an industry name)
    text: str  # the words that matched
    score: float = 1.0


@dataclass(frozen=True)
class NluResult:
    text: str  # normalised text
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[str, float], ...] = field(default=())
    backend: str = "embedded"

    def values(self, entity: str) -> list[str]:
        return [e.value for e in self.entities if e.entity == entity]


class NluBackend(Protocol):
    name: str

    async def parse(self, text: str) -> NluResult: ...
