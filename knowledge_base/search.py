"""Look-ups the dialogue and the notifier need: by id, by topic or industry, and by words."""

from __future__ import annotations

from dataclasses import dataclass

from core.text import compact
from knowledge_base.schema import Program
from knowledge_base.store import KnowledgeBase


@dataclass(frozen=True)
class Hit:
    program: Program
    score: float


class ProgramSearch:
    """Indexes a loaded knowledge base once; every look-up after that is a dictionary or a scan of ~40 records."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._names: list[tuple[Program, list[str]]] = []
        self._text: dict[str, str] = {}
        for program in kb.programs.values():
            names = [compact(program.name)]
            if program.short_name:
                names.append(compact(program.short_name))
            self._names.append((program, names))
            self._text[program.id] = compact(" ".join([program.name, program.short_name or "", program.summary]))

    def get(self, program_id: str) -> Program | None:
        return self.kb.programs.get(program_id)

    def children(self, program_id: str) -> list[Program]:
        return self.kb.children(program_id)

    def parent(self, program: Program) -> Program | None:
        return self.kb.programs.get(program.parent) if program.parent else None

    def by_topic(self, topic: str, *, applicable_only: bool = False) -> list[Program]:
        """Programs tagged with `topic` (an industry such as 전기자동차 or a category such as 인증)."""
        key = compact(topic)
        pool = self.kb.applicable_programs() if applicable_only else self.kb.programs.values()
        return [p for p in pool if any(compact(t) == key for t in p.topics)]

    def by_industry(self, industry: str) -> list[Program]:
        """2022 programs a company of one of the 5 대표산업 can apply to."""
        return self.by_topic(industry, applicable_only=True)

    def by_kind(self, *kinds: str, year: int | None = None) -> list[Program]:
        return [p for p in self.kb.programs.values() if p.kind in kinds and (year is None or p.year == year)]

    def applicable(self) -> list[Program]:
        return self.kb.applicable_programs()

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        """Programs whose name, short name or summary contain the query's words (spaces and dots ignored).

        A name containing the whole query ranks first, then by the share of query words found."""
        whole = compact(query)
        if not whole:
            return []
        words = [w for w in (compact(part) for part in query.split()) if w]
        hits: list[Hit] = []
        for program, names in self._names:
            text = self._text[program.id]
            if any(whole in name for name in names):
                score = 2.0 + (1.0 if whole in names else 0.0)
            elif whole in text:
                score = 1.5
            else:
                found = sum(1 for w in words if w in text)
                score = found / len(words) if words else 0.0
            if score > 0:
                hits.append(Hit(program, score))
        hits.sort(key=lambda h: (-h.score, h.program.kind == "result_2021", h.program.id))
        return hits[:limit]
