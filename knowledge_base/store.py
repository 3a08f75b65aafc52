"""The loaded knowledge base: validated records and look-ups by id."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge_base.schema import CommonRules, Faq, Organization, Program, StatTable, Team


@dataclass(frozen=True)
class KnowledgeBase:
    programs: dict[str, Program]
    teams: dict[str, Team]
    common_rules: CommonRules
    organization: Organization
    tables: dict[str, StatTable]
    faqs: dict[str, Faq] = field(default_factory=dict)

    def program(self, program_id: str) -> Program:
        return self.programs[program_id]

    def team_of(self, program: Program) -> Team | None:
        return self.teams.get(program.team) if program.team else None

    def children(self, program_id: str) -> list[Program]:
        return [p for p in self.programs.values() if p.parent == program_id]

    def applicable_programs(self) -> list[Program]:
        """What a company can apply to in the plan year (not results, not management items)."""
        return [p for p in self.programs.values() if p.kind in ("support_program", "sub_program")]
