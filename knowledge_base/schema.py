"""The shape of the knowledge base. Every fact names its source (document and section).

Money is in 백만원 (millions of won), as in the seed plan; `core`-free formatting lives in
`knowledge_base.money`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PLAN_DOCUMENT = "김포산업진흥원 2022년 주요업무계획"

# Program.topics vocabulary (alerts match announcements to subscribers by these words).
INDUSTRIES: tuple[str, ...] = ("전기자동차", "첨단소재부품", "지능형기계", "스마트물류", "관광레저")  # 5대 대표산업
CATEGORIES: tuple[str, ...] = (
    "제조", "소공인", "기술개발", "공정개선", "설비", "시험분석", "인증", "스마트공장", "에너지", "컨설팅",
    "마케팅", "수출", "금융", "상담", "교육", "네트워크", "데이터", "비대면", "공모사업", "알림", "경영",
)  # fmt: skip
TOPICS: frozenset[str] = frozenset(INDUSTRIES + CATEGORIES)

Strategy = Literal["혁신성장", "미래지향", "소통협력", "공정신뢰"]
ProgramKind = Literal[
    "support_program",  # a 지원사업 companies apply to
    "sub_program",  # a part of one (e.g. 콤프레샤 교체 under 노후생산시설 현대화)
    "service",  # 현장데스크, 화상회의실, 알리미 채널, GOPA 500 ...
    "infrastructure",  # 소공인복합지원센터, DB·플랫폼
    "initiative",  # the agency's own work companies do not apply to: 협의체 운영, 국도비 확보 목표
    "national_project",  # 국도비 공모사업
    "management",  # 공정신뢰 items
    "result_2021",  # 출범 이후 주요성과 (2020.7~2021.12)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    document: str = PLAN_DOCUMENT
    section: str = Field(min_length=2)

    def cite(self) -> str:
        return f"{self.document} · {self.section}"


class BudgetPart(Strict):
    label: str  # 국비, 도비, 시비, 자부담, 연구개발비 ...
    amount: float | None = None  # 백만원
    percent: float | None = None


class Budget(Strict):
    amount: float | None = None  # 백만원; None with a note (비예산)
    note: str | None = None  # 이월예산, 비예산, 한국에너지공단 부담 ...
    # 총사업비 when it differs from the agency's budget (국비+시비+자부담 of a national project).
    total: float | None = None
    # Breakdown of `total` when it is set, otherwise of `amount`.
    parts: list[BudgetPart] = Field(default_factory=list)

    @model_validator(mode="after")
    def _amount_or_note(self) -> Budget:
        if self.amount is None and not self.note:
            raise ValueError("a budget needs an amount (백만원) or a note such as 비예산")
        return self


class Alternative(Strict):
    """One of two figures the plan gives for the same thing, with what it means."""

    value: str
    meaning: str
    source: Source


class Discrepancy(Strict):
    """Where the plan contradicts itself: every figure, none silently chosen."""

    topic: str
    alternatives: list[Alternative] = Field(min_length=2)
    note: str | None = None


class ScheduleStep(Strict):
    step: str
    start_month: int = Field(ge=1, le=12)
    start_week: int = Field(ge=1, le=4)
    # None only with `until`: the plan gives no end week (~중기부 사업 종료시까지).
    end_month: int | None = Field(default=None, ge=1, le=12)
    end_week: int | None = Field(default=None, ge=1, le=4)
    until: str | None = None
    note: str | None = None  # ※사업지원금 1차 지급(70%) ...: the plan's own remark
    caveat: str | None = None  # our remark on how the table was read

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleStep:
        if self.end_month is None or self.end_week is None:
            if self.until is None or self.end_month is not None or self.end_week is not None:
                raise ValueError("a schedule step needs end_month and end_week, or `until` instead of both")
            return self
        if (self.end_month, self.end_week) < (self.start_month, self.start_week):
            raise ValueError("a schedule step ends before it starts")
        return self

    def when(self) -> str:
        """'3월 1~4주', '4월 1주~5월 4주', '11월 1주~중기부 사업 종료시까지'."""
        if self.end_month is None:
            return f"{self.start_month}월 {self.start_week}주~{self.until}"
        if self.start_month == self.end_month:
            if self.start_week == self.end_week:
                return f"{self.start_month}월 {self.start_week}주"
            return f"{self.start_month}월 {self.start_week}~{self.end_week}주"
        return f"{self.start_month}월 {self.start_week}주~{self.end_month}월 {self.end_week}주"


class Schedule(Strict):
    title: str
    year: int = 2022
    plan_note: str = "2022년 계획 기준"
    budget: float | None = None  # 백만원, as printed beside the table
    steps: list[ScheduleStep] = Field(min_length=1)
    source: Source


class ProgramSchedule(Schedule):
    """A schedule table as stored in schedules_2022.yaml: attached to `program` on load."""

    program: str


class YearBudget(Strict):
    """A budget of another year or round (에너지효율시장: 2021 선정 361, 2022 선정 628)."""

    year: int
    label: str
    budget: Budget
    source: Source


class Program(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    short_name: str | None = None
    kind: ProgramKind
    year: int = 2022
    strategy: Strategy | None = None
    parent: str | None = None
    summary: str
    budget: Budget | None = None
    budget_history: list[YearBudget] = Field(default_factory=list)
    companies: int | None = None  # 지원 기업 수 (개사)
    size_note: str | None = None  # 서포터즈 20명, 15개사 제품 ...
    support: list[str] = Field(default_factory=list)  # 지원내용
    target: list[str] = Field(default_factory=list)  # 지원대상
    how_to_apply: list[str] = Field(default_factory=list)
    period: str | None = None  # 사업기간 / 운영일시
    place: str | None = None
    team: str | None = None  # Team.id: the first 추진부서 printed for the item
    other_teams: list[str] = Field(default_factory=list)  # further 추진부서 printed in the same box
    topics: list[str] = Field(default_factory=list)  # 5 대표산업, categories: used for alerts
    schedule: Schedule | None = None
    discrepancies: list[Discrepancy] = Field(default_factory=list)
    details: list[str] = Field(default_factory=list)  # further facts, each a sentence
    source: Source

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, topics: list[str]) -> list[str]:
        unknown = [t for t in topics if t not in TOPICS]
        if unknown:
            raise ValueError(f"unknown topic(s) {unknown}; add them to schema.CATEGORIES if they are new")
        return topics


class Team(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    aliases: list[str] = Field(default_factory=list)  # other spellings in the plan (정책사업추진TF)
    phone: str = Field(pattern=r"^0\d{1,2}-\d{3,4}-\d{4}$")  # the team leader's line
    duties: list[str]
    discrepancies: list[Discrepancy] = Field(default_factory=list)
    source: Source


class CommonRules(Strict):
    support_ratio: str  # 총사업비의 60%~75%
    support_limit: str
    payment: list[str]  # 1차 70% at agreement, 2차 30% after settlement
    evaluation: str  # 3~7인 전문가 평가위원회
    max_duration: str  # 최대 6개월 이내
    process: list[ProcessStep] = Field(min_length=1)
    source: Source


class ProcessStep(Strict):
    order: int
    name: str
    actions: list[str]
    actor: str


class TableRow(Strict):
    label: str
    values: list[str | float | int | None]


class StatTable(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    as_of: str | None = None
    unit: str | None = None
    columns: list[str]
    rows: list[TableRow]
    source: Source

    @model_validator(mode="after")
    def _widths(self) -> StatTable:
        for row in self.rows:
            if len(row.values) != len(self.columns):
                raise ValueError(f"row {row.label!r} has {len(row.values)} values for {len(self.columns)} columns")
        return self


class HistoryEvent(Strict):
    date: str  # 2020-07-01
    event: str


class RoleCount(Strict):
    role: str
    count: int | None = None
    members: list[str] = Field(default_factory=list)  # affiliations and positions, never names
    duties: list[str] = Field(default_factory=list)


class Organization(Strict):
    name: str
    purpose: str
    basis: str
    mission: str | None = None
    vision: str | None = None
    address: str
    facilities: list[str]
    history: list[HistoryEvent]
    functions: list[str]
    headcount: str
    board: list[RoleCount]
    committees: list[RoleCount]
    mous: list[HistoryEvent] = Field(default_factory=list)
    strategies: dict[str, list[str]] = Field(default_factory=dict)  # 전략목표 -> 핵심과제
    strategy_goals: dict[str, str] = Field(default_factory=dict)  # 전략목표 -> 추진방향
    area: str | None = None
    building: str | None = None
    owner: str | None = None
    teams: list[str] = Field(default_factory=list)  # Team ids
    management_results: list[str] = Field(default_factory=list)  # 경영 성과 2020.7~2021.12
    source: Source


class Faq(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    question: str
    answer: str
    source: Source


CommonRules.model_rebuild()
