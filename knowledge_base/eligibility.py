"""Eligibility: which programs a company may apply for, judged from rules that cite the plan.

`data/eligibility.yaml` holds the rules (one list per program, each rule reading one company
fact and quoting the plan's words it rests on); `data/gimpo_regions.yaml` holds the place names
that tell 김포시 from elsewhere. `evaluate` is pure: facts in, per-program outcome out.

Outcomes: 신청 가능 (every stated condition met), 불가 (a stated condition fails), 확인 필요 (a
fact is unknown, or the plan's words only hint at the condition: the announcement decides).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge_base.loader import load_knowledge_base, load_yaml_model
from knowledge_base.schema import PLAN_DOCUMENT
from knowledge_base.store import KnowledgeBase

DATA_DIR = Path(__file__).resolve().parent / "data"
RULES_FILE = "eligibility.yaml"
REGIONS_FILE = "gimpo_regions.yaml"

Outcome = Literal["신청 가능", "불가", "확인 필요"]
RuleStatus = Literal["충족", "미충족", "확인 필요"]
OUTCOMES: tuple[Outcome, ...] = ("신청 가능", "확인 필요", "불가")
NOT_REPRESENTATIVE = "해당 없음"
# 소공인: manufacturing with fewer than this many regular workers (도시형소공인 지원에 관한 특별법).
SOGONGIN_WORKERS_BELOW = 10

FactName = Literal[
    "in_gimpo",
    "is_manufacturer",
    "small_workforce",
    "is_sme",
    "representative_industry",
    "prior_ev_2021",
    "mss_smart_factory_selected",
    "consortium",
]
FACT_NAMES: tuple[FactName, ...] = FactName.__args__  # type: ignore[attr-defined]

# How each fact is named to a user (in reasons and "please tell me ..." lines).
FACT_LABELS: dict[str, str] = {
    "in_gimpo": "소재지(김포시 여부)",
    "is_manufacturer": "제조업 여부",
    "small_workforce": "상시근로자 수",
    "is_sme": "중소기업 여부",
    "representative_industry": "5대 대표산업 해당 여부",
    "prior_ev_2021": "2021년 전기차 부품생산 가능화 지원사업 참여 여부",
    "mss_smart_factory_selected": "중기부 「스마트공장 보급·확산사업」 선정 여부",
    "consortium": "기업간 컨소시엄 구성 여부",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=_Strict)


class RuleSource(_Strict):
    document: str = PLAN_DOCUMENT
    section: str = Field(min_length=2)
    quote: str = Field(min_length=2)  # the plan's own words, verbatim
    definition: str | None = None  # a legal definition the plan's word relies on (소공인)

    def cite(self) -> str:
        return f"{self.document} · {self.section} 「{self.quote}」"


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    fact: FactName
    equals: bool | None = None
    one_of: list[str] = Field(default_factory=list)
    otherwise: Literal["불가", "확인 필요"] = "불가"
    requirement: str
    hint: str | None = None  # what to do when the rule is not met
    when_unknown: str | None = None  # what to say while the fact is unknown (a prerequisite)
    source: RuleSource

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        if (self.equals is None) == (not self.one_of):
            raise ValueError("a rule needs exactly one of `equals` or `one_of`")
        return self

    def status(self, value: Any) -> RuleStatus:
        if value is None:
            return "확인 필요"
        met = value == self.equals if self.equals is not None else value in self.one_of
        if met:
            return "충족"
        return "미충족" if self.otherwise == "불가" else "확인 필요"


class Note(_Strict):
    text: str
    source: RuleSource


class ProgramRules(_Strict):
    program: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # a KB program id (names come from the KB)
    rules: list[Rule] = Field(min_length=1)
    notes: list[Note] = Field(default_factory=list)

    def facts(self) -> list[str]:
        return list(dict.fromkeys(rule.fact for rule in self.rules))


class RepresentativeIndustries(_Strict):
    values: list[str] = Field(min_length=1)
    source: RuleSource


class EligibilityRules(_Strict):
    disclaimer: str
    representative_industries: RepresentativeIndustries
    programs: list[ProgramRules] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> EligibilityRules:
        ids = [p.program for p in self.programs]
        if len(ids) != len(set(ids)):
            raise ValueError("a program is listed twice")
        allowed = set(self.representative_industries.values)
        for program in self.programs:
            for rule in program.rules:
                unknown = set(rule.one_of) - allowed if rule.fact == "representative_industry" else set()
                if unknown:
                    raise ValueError(f"{program.program}.{rule.id}: not a 대표산업: {sorted(unknown)}")
        return self

    def program(self, program_id: str) -> ProgramRules | None:
        return next((p for p in self.programs if p.program == program_id), None)


class Place(_Strict):
    name: str
    aliases: list[str] = Field(default_factory=list)


class Regions(_Strict):
    city: str
    city_aliases: list[str] = Field(min_length=1)
    industrial_complexes: list[str] = Field(default_factory=list)
    eupmyeondong: list[Place] = Field(min_length=1)
    elsewhere: list[str] = Field(min_length=1)

    def dong(self, name: str | None) -> Place | None:
        return next((p for p in self.eupmyeondong if p.name == name), None)


class CompanyFacts(BaseModel):
    """What a company says about itself; every field optional (unknown is allowed and reported)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    in_gimpo: bool | None = Field(None, description="김포시 소재 여부 (sigungu/eupmyeondong으로도 판단)")
    sigungu: str | None = Field(None, max_length=40, description="시·군·구 (예: 김포시, 인천 서구)")
    eupmyeondong: str | None = Field(None, max_length=40, description="읍·면·동 (예: 양촌읍)")
    is_manufacturer: bool | None = Field(None, description="제조업 여부")
    industry: str | None = Field(None, max_length=100, description="업종 설명 (예: 금속가공)")
    employees: int | None = Field(None, ge=0, le=1_000_000, description="상시근로자 수")
    small_workforce: bool | None = Field(
        None, description="상시근로자 10명 미만 여부 (employees가 있으면 employees로 판단)"
    )
    is_sme: bool | None = Field(None, description="중소기업 여부")
    representative_industry: str | None = Field(
        None, max_length=20, description="김포시 5대 대표산업 중 해당 분야, 또는 '해당 없음'"
    )
    prior_ev_2021: bool | None = Field(None, description="2021년 전기차 부품생산 가능화 지원사업 참여 여부")
    mss_smart_factory_selected: bool | None = Field(None, description="중기부 「스마트공장 보급·확산사업」 선정 여부")
    consortium: bool | None = Field(None, description="기업간 컨소시엄 구성 여부")


class Reason(BaseModel):
    rule: str
    status: RuleStatus
    text: str  # one Korean sentence for the user
    requirement: str
    fact: str
    source: str  # document · section 「quote」
    quote: str  # the plan's words the rule rests on
    definition: str | None = None


class ProgramResult(BaseModel):
    program_id: str
    name: str
    short_name: str
    outcome: Outcome
    reasons: list[Reason]
    missing_facts: list[str]  # facts whose absence keeps the outcome at 확인 필요
    notes: list[str] = Field(default_factory=list)


class EligibilityResult(BaseModel):
    facts: dict[str, Any]  # the facts as judged (derived ones filled in)
    results: list[ProgramResult]
    by_outcome: dict[str, list[str]]
    disclaimer: str

    def result(self, program_id: str) -> ProgramResult | None:
        return next((r for r in self.results if r.program_id == program_id), None)


class UnknownFactValue(ValueError):
    """A fact value the rules cannot read (e.g. a 대표산업 that is not one of the five)."""


@lru_cache(maxsize=8)
def _load(path: Path, model: type[_Strict], mtime_ns: int) -> _Strict:
    return load_yaml_model(path, model).value


def _load_current(path: Path, model: type[M]) -> M:
    """Cached until the file changes, so an edited rules file is read again without a restart."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        mtime_ns = -1  # the loader reports the missing file with its path
    return _load(path, model, mtime_ns)  # type: ignore[return-value]


def load_rules(directory: Path = DATA_DIR) -> EligibilityRules:
    """The rules file, validated; a problem names the file, the line and the field."""
    return _load_current(directory / RULES_FILE, EligibilityRules)


def load_regions(directory: Path = DATA_DIR) -> Regions:
    return _load_current(directory / REGIONS_FILE, Regions)


def unknown_programs(rules: EligibilityRules, kb: KnowledgeBase) -> list[str]:
    """Rule program ids the knowledge base does not know (a typo in eligibility.yaml)."""
    return [p.program for p in rules.programs if p.program not in kb.programs]


def resolve(facts: CompanyFacts, regions: Regions, rules: EligibilityRules) -> dict[str, Any]:
    """The facts the rules read, derived where the company gave a more concrete answer:
    a 읍면동 of 김포 or a 시군구 name decides `in_gimpo`; a head count decides `small_workforce`."""
    values: dict[str, Any] = facts.model_dump()
    in_gimpo = facts.in_gimpo
    if facts.eupmyeondong and regions.dong(facts.eupmyeondong) is not None:
        in_gimpo = True
    elif facts.sigungu:
        key = facts.sigungu.replace(" ", "")
        if any(alias in key for alias in regions.city_aliases):
            in_gimpo = True
        elif any(place in key for place in regions.elsewhere):
            in_gimpo = False
    values["in_gimpo"] = in_gimpo
    if facts.employees is not None:
        values["small_workforce"] = facts.employees < SOGONGIN_WORKERS_BELOW
    industry = facts.representative_industry
    if industry is not None and industry not in (*rules.representative_industries.values, NOT_REPRESENTATIVE):
        choices = ", ".join([*rules.representative_industries.values, NOT_REPRESENTATIVE])
        raise UnknownFactValue(f"representative_industry must be one of: {choices}")
    return values


def describe(fact: str, values: dict[str, Any]) -> str:
    """The company's answer for `fact`, as a short Korean phrase."""
    value = values.get(fact)
    if fact == "in_gimpo":
        place = " ".join(p for p in (values.get("sigungu"), values.get("eupmyeondong")) if p)
        if value:
            return f"소재지 {place if '김포' in place else ('김포시 ' + place).strip()}"
        return f"소재지 {place}" if place else "김포시 외 소재"
    if fact == "is_manufacturer":
        industry = values.get("industry")
        if value:
            return f"제조업({industry})" if industry else "제조업"
        return f"제조업 아님({industry})" if industry else "제조업 아님"
    if fact == "small_workforce":
        employees = values.get("employees")
        if employees is not None:
            return f"상시근로자 {employees}명"
        return f"상시근로자 {SOGONGIN_WORKERS_BELOW}명 미만" if value else f"상시근로자 {SOGONGIN_WORKERS_BELOW}명 이상"
    if fact == "representative_industry":
        return f"5대 대표산업 {value}" if value != NOT_REPRESENTATIVE else "5대 대표산업 해당 없음"
    yes_no = {
        "is_sme": ("중소기업", "중소기업 아님"),
        "prior_ev_2021": ("2021년 전기차 사업 참여", "2021년 전기차 사업 미참여"),
        "mss_smart_factory_selected": ("중기부 스마트공장 보급·확산사업 선정", "중기부 스마트공장 미선정"),
        "consortium": ("기업간 컨소시엄 구성", "컨소시엄 없음"),
    }
    yes, no = yes_no[fact]
    return yes if value else no


def object_particle(word: str) -> str:
    """을 after a final consonant, 를 otherwise (a closing bracket defers to the word inside)."""
    letters = [c for c in word if "가" <= c <= "힣"]
    if not letters:
        return "을(를)"
    return "을" if (ord(letters[-1]) - ord("가")) % 28 else "를"


def _reason(rule: Rule, values: dict[str, Any]) -> Reason:
    status = rule.status(values.get(rule.fact))
    if values.get(rule.fact) is None:
        label = FACT_LABELS[rule.fact]
        text = rule.when_unknown or f"{rule.requirement}: {label}{object_particle(label)} 알려 주시면 판정할 수 있어요."
    elif status == "충족":
        text = f"{rule.requirement} — 충족 ({describe(rule.fact, values)})"
    else:
        text = f"{rule.requirement} 대상이에요 (답변: {describe(rule.fact, values)})."
        text += f" {rule.hint}" if rule.hint else (" 공고문을 확인하세요." if status == "확인 필요" else "")
    return Reason(
        rule=rule.id,
        status=status,
        text=text,
        requirement=rule.requirement,
        fact=rule.fact,
        source=rule.source.cite(),
        quote=rule.source.quote,
        definition=rule.source.definition,
    )


def evaluate_program(program: ProgramRules, values: dict[str, Any], kb: KnowledgeBase) -> ProgramResult:
    reasons = [_reason(rule, values) for rule in program.rules]
    statuses = {r.status for r in reasons}
    outcome: Outcome = "불가" if "미충족" in statuses else "확인 필요" if "확인 필요" in statuses else "신청 가능"
    missing = list(dict.fromkeys(r.fact for r in reasons if values.get(r.fact) is None))
    record = kb.program(program.program)
    return ProgramResult(
        program_id=program.program,
        name=record.name,
        short_name=record.short_name or record.name,
        outcome=outcome,
        reasons=reasons,
        missing_facts=missing,
        notes=[f"{note.text} (근거: {note.source.cite()})" for note in program.notes],
    )


def evaluate(
    facts: CompanyFacts,
    rules: EligibilityRules | None = None,
    regions: Regions | None = None,
    program_ids: list[str] | None = None,
    kb: KnowledgeBase | None = None,
) -> EligibilityResult:
    """Every program's outcome (or only `program_ids`'), in the rules file's order."""
    rules = rules or load_rules()
    kb = kb or load_knowledge_base()
    values = resolve(facts, regions or load_regions(), rules)
    chosen = [p for p in rules.programs if program_ids is None or p.program in program_ids]
    results = [evaluate_program(p, values, kb) for p in chosen]
    by_outcome = {o: [r.program_id for r in results if r.outcome == o] for o in OUTCOMES}
    return EligibilityResult(facts=values, results=results, by_outcome=by_outcome, disclaimer=rules.disclaimer)


def candidates(rules: EligibilityRules, values: dict[str, Any]) -> list[ProgramRules]:
    """Programs no known fact rules out or puts in doubt: only these deserve more questions."""
    return [
        program
        for program in rules.programs
        if all(rule.status(values.get(rule.fact)) == "충족" or values.get(rule.fact) is None for rule in program.rules)
    ]
