"""Answer texts built from knowledge-base fields only. Pure functions of the (immutable) KB,
so the dialogue caches them per (intent, program).

Every text ends with its source line; numbers are only ever copied from KB fields.
"""

from __future__ import annotations

import re

from core.text import compact
from knowledge_base import money
from knowledge_base.schema import Budget, CommonRules, Organization, Program, Source, StatTable, Team
from knowledge_base.store import KnowledgeBase

PLAN_NOTE = "2022년 계획 기준"

# A schedule question may ask about one step ("접수 언제까지"): what it says, the step names of the
# plan's 추진 일정 tables that answer it, and the word the answer leads with.
SCHEDULE_FOCUS: tuple[tuple[re.Pattern[str], re.Pattern[str], str], ...] = (
    (re.compile(r"접수|신청|마감|모집|언제까지"), re.compile(r"서류\s*접수"), "접수"),
    (re.compile(r"결과\s*보고|완료\s*보고"), re.compile(r"결과\s*보고"), "결과 보고"),
    (re.compile(r"협약"), re.compile(r"협약"), "협약"),
    (re.compile(r"선정|발표|심사"), re.compile(r"선정|서류\s*검토"), "선정"),
)
LIMIT_WORD = "한도"  # a line of the plan about the support limit (지원 한도금액, 한도액 확대)


def cite(*sources: Source) -> str:
    """'출처: 김포산업진흥원 2022년 주요업무계획 · IV. ...'; several sections of one document share its name."""
    if len(sources) == 1:
        return "출처: " + sources[0].cite()
    by_document: dict[str, list[str]] = {}
    for source in sources:
        sections = by_document.setdefault(source.document, [])
        if source.section not in sections:
            sections.append(source.section)
    return "출처: " + " / ".join(f"{doc} · {' / '.join(sections)}" for doc, sections in by_document.items())


def team_line(team: Team | None) -> str:
    return f"담당: {team.name} {team.phone}" if team else ""


def budget_text(budget: Budget | None) -> str:
    """'25백만원 (2,500만원)', '200백만원 (2억원), 이월예산', '비예산'."""
    return money.budget_text(budget) if budget else ""


def size_text(program: Program) -> str:
    parts = []
    if program.companies is not None:
        parts.append(f"{program.companies:,}개사 지원")
    if program.size_note:
        parts.append(program.size_note)
    return ", ".join(parts)


def display_name(program: Program) -> str:
    return program.name


def join_lines(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def bullets(items: list[str], limit: int = 6) -> str:
    shown = [f"· {item}" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"· 외 {len(items) - limit}건")
    return "\n".join(shown)


def overview(kb: KnowledgeBase, program: Program) -> str:
    figures = ", ".join(t for t in (budget_text(program.budget), size_text(program)) if t)
    children = kb.children(program.id)
    return join_lines(
        f"[{program.name}]",
        program.summary,
        f"· 예산·규모: {figures}" if figures else "",
        f"· 기간: {program.period}" if program.period else "",
        f"· 세부사업: {', '.join(c.short_name or c.name for c in children)}" if children else "",
        f"· {team_line(kb.team_of(program))}" if program.team else "",
        cite(program.source),
    )


def budget(kb: KnowledgeBase, program: Program) -> str:
    plan = program.budget
    amount = (money.with_spoken(plan.amount) if plan.amount is not None else plan.note or "") if plan else ""
    figures = ", ".join(t for t in (f"예산 {amount}" if amount else "", size_text(program)) if t)
    lines = [f"{program.name}: {figures or '계획서에 예산·규모가 나와 있지 않습니다.'}"]
    # A discrepancy already explains the figures; the budget note would say it a second time.
    if plan and plan.amount is not None and plan.note and not program.discrepancies:
        lines.append(f"· 비고: {plan.note}")
    if plan and plan.total is not None:
        breakdown = f": {money.parts_text(plan)}" if plan.parts else ""
        lines.append(f"· 총사업비 {money.with_spoken(plan.total)}{breakdown}")
    elif plan and plan.parts:
        lines.append(f"· 내역: {money.parts_text(plan)}")
    for child in kb.children(program.id):
        child_figures = ", ".join(t for t in (budget_text(child.budget), size_text(child)) if t)
        if child_figures:
            lines.append(f"· {child.short_name or child.name}: {child_figures}")
    sources = [program.source]
    for discrepancy in program.discrepancies:
        sources.extend(alt.source for alt in discrepancy.alternatives)
        # The figures are already above: the KB's note says in one line how they fit together.
        if discrepancy.note:
            lines.append(f"※ {discrepancy.note}")
            continue
        lines.append(f"※ {discrepancy.topic}: 계획서에 두 가지로 적혀 있어요.")
        lines.extend(f"· {alt.value}: {alt.meaning}" for alt in discrepancy.alternatives)
    lines.append(cite(*sources))
    return join_lines(*lines)


def short_figures(program: Program) -> str:
    """'25백만원 (2,500만원), 25개사 지원': for list cards, without notes."""
    plan = program.budget
    amount = (money.with_spoken(plan.amount) if plan.amount is not None else plan.note or "") if plan else ""
    return ", ".join(t for t in (amount, size_text(program)) if t)


def support(kb: KnowledgeBase, program: Program) -> str:
    body = bullets(program.support) if program.support else program.summary
    figures = short_figures(program)
    return join_lines(
        f"[{program.name}] 지원내용", body, f"· 예산·규모: {figures}" if figures else "", cite(program.source)
    )


def target(kb: KnowledgeBase, program: Program) -> str:
    if program.target:
        body = bullets(program.target)
    else:
        team = kb.team_of(program)
        body = "계획서에 지원대상이 따로 적혀 있지 않습니다." + (
            f" 자세한 대상은 {team.name}({team.phone})에 문의해 주세요." if team else ""
        )
    return join_lines(f"[{program.name}] 지원대상", body, cite(program.source))


# Under every schedule: the plan's dates are one year's, and the year's 공고 fixes the real ones.
YEARLY_NOTE = "실제 일정은 해마다 공고로 정해지니, 올해 공고를 꼭 확인해 주세요."
TRAILING_BRACKETS = re.compile(r"\([^()]*\)$")  # 사업 공고 및 서류 접수(2차): what the lead keeps


def schedule_focus(question: str) -> str | None:
    """The step a schedule question asks about (a SCHEDULE_FOCUS word), or None for the whole table."""
    return next((word for asks, _, word in SCHEDULE_FOCUS if asks.search(question)), None)


def schedule(kb: KnowledgeBase, program: Program, focus: str | None = None) -> str:
    """The program's 추진 일정 (or its parts'); with a focus, the steps it names lead each table."""
    with_table = [program] if program.schedule else [c for c in kb.children(program.id) if c.schedule][:2]
    if not with_table:
        team = kb.team_of(program)
        return join_lines(
            f"[{program.name}] 계획서에 단계별 일정표가 없습니다.",
            f"· 기간: {program.period}" if program.period else "",
            f"일정은 {team.name}({team.phone})에 문의해 주세요." if team else "",
            cite(program.source),
        )
    return join_lines(
        *(schedule_table(part, focus) for part in with_table),
        YEARLY_NOTE,
        cite(*(part.schedule.source for part in with_table if part.schedule)),
    )


def schedule_table(program: Program, focus: str | None) -> str:
    plan = program.schedule
    assert plan is not None
    # The program's own name heads every answer about it; the plan titles some schedule tables
    # differently (콤프레샤 교체 under 노후생산시설 현대화), which is kept as a pointer.
    titled = "" if compact(plan.title) == compact(program.name) else f"\n(계획서 일정표: {plan.title})"
    lines = [f"[{program.name}] 일정 ({plan.plan_note}){titled}"]
    for asks_about, word in ((names, word) for _, names, word in SCHEDULE_FOCUS if word == focus):
        for step in plan.steps:
            if asks_about.search(step.step):
                qualifier = TRAILING_BRACKETS.search(step.step)
                lines.append(f"☞ {word}: {step.when()}" + (f" {qualifier.group(0)}" if qualifier else ""))
    for step in plan.steps:
        note = f" ※{step.note.lstrip('※')}" if step.note else ""
        lines.append(f"· {step.step}: {step.when()}{note}")
    return join_lines(*lines)


def how_to_apply(kb: KnowledgeBase, program: Program) -> str:
    return bullets(program.how_to_apply) if program.how_to_apply else ""


def process(rules: CommonRules, program: Program | None = None) -> str:
    """The common 추진 절차; asked about one program, its own way to apply comes first."""
    steps = " → ".join(step.name for step in sorted(rules.process, key=lambda s: s.order))
    own = program is not None and bool(program.how_to_apply)
    return join_lines(
        f"[{program.name}] 신청 방법\n{bullets(program.how_to_apply)}" if own else "",
        f"기업지원사업 추진 절차 ({len(rules.process)}단계)",
        steps,
        f"· 평가: {rules.evaluation}",
        f"· 사업 수행: {rules.max_duration}",
        cite(*((program.source,) if own else ()), rules.source),
    )


def ratio_payment(rules: CommonRules, program: Program | None = None) -> str:
    """The common rules; asked about one program, what the plan says of its own support comes
    first: its percentages (스마트공장: 총사업비의 20%), budget and company count, and its limit."""
    own = _own_support(program) if program else []
    return join_lines(
        f"[{program.name}] 지원 비율·지원금\n" + "\n".join(f"· {line}" for line in own) if program else "",
        "지원 비율과 지원금 지급 (기업지원사업 공통)",
        f"· 지원 비율: {rules.support_ratio}",
        f"· 지원 한도: {rules.support_limit}",
        *(f"· {line}" for line in rules.payment),
        cite(*((program.source,) if program else ()), rules.source),
    )


def _own_support(program: Program) -> list[str]:
    """What the plan says a company of this program gets: its lines about percentages and limits."""
    own = [line for line in program.support if "%" in line]
    if program.budget and any(part.percent is not None for part in program.budget.parts):
        own.append(f"사업비 구성: {money.parts_text(program.budget)}")
    figures = short_figures(program)
    if figures:
        own.append(f"예산·규모: {figures}")
    own.extend(line for line in program.details if LIMIT_WORD in line)
    # The plan sets a limit per program (공통 규칙) but never its amount: the KB has no such field.
    own.append("업체당 지원 한도 금액은 계획서에 나와 있지 않아요. 사업 공고문에서 확인해 주세요.")
    return own


def contact(kb: KnowledgeBase, program: Program) -> str:
    team = kb.team_of(program)
    if team is None:
        return general_contact(kb)
    return join_lines(
        f"[{program.name}] 담당: {team.name}",
        f"· 전화: {team.phone}",
        cite(program.source, team.source),
    )


def general_contact(kb: KnowledgeBase) -> str:
    desk = kb.programs.get("field_desk")
    lines = ["김포산업진흥원 연락처"]
    sources: list[Source] = []
    if desk:
        desk_team = kb.team_of(desk)
        where = f"{desk_team.name} {desk_team.phone}" if desk_team else desk.place or desk.period or ""
        lines.append(f"· {desk.short_name or desk.name} 상담: {where}".rstrip(": "))
        sources.append(desk.source)
    for team in kb.teams.values():
        duties = ", ".join(team.duties[:2])
        lines.append(f"· {team.name} {team.phone} ({duties})")
        sources.append(team.source)
    lines.append(cite(*sources))
    return join_lines(*lines)


def location(kb: KnowledgeBase, program: Program | None) -> str:
    org = kb.organization
    lines = []
    sources: list[Source] = []
    if program and program.place:
        lines.append(f"[{program.name}] 장소: {program.place}")
        sources.append(program.source)
    lines.append(f"{org.name} 주소: {org.address}")
    sources.append(org.source)
    lines.append(cite(*sources))
    return join_lines(*lines)


def organization(org: Organization, kb: KnowledgeBase) -> str:
    founded = next((h for h in org.history if "출범" in h.event), None)
    return join_lines(
        f"[{org.name}]",
        org.purpose,
        f"· 출범: {founded.date}" if founded else "",
        f"· 조직: {', '.join(t.name for t in kb.teams.values())}",
        f"· 인력: {org.headcount}",
        f"· 주소: {org.address}",
        cite(org.source),
    )


def total_budget(table: StatTable) -> str | None:
    """The 총 계 row of a budget table: '2022년 추진사업 총괄 (예산): 총 8,147백만원 (...)'."""
    for row in table.rows:
        if compact(row.label) == "총계":
            amount = next((v for v in reversed(row.values) if isinstance(v, int | float)), None)
            if amount is not None:
                return join_lines(f"{table.title}: 총 {money.with_spoken(amount)}", cite(table.source))
    return None


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def statistics(table: StatTable, max_rows: int = 8, max_cols: int = 4) -> str:
    header = table.title + "".join(f" ({x})" for x in (table.as_of, table.unit) if x)
    lines = [header]
    columns = table.columns[:max_cols]
    for row in table.rows[:max_rows]:
        cells = ", ".join(f"{col} {_cell(val)}" for col, val in zip(columns, row.values, strict=False))
        lines.append(f"· {row.label}: {cells}")
    if len(table.rows) > max_rows:
        lines.append(f"· 외 {len(table.rows) - max_rows}개 항목")
    lines.append(cite(table.source))
    return join_lines(*lines)
