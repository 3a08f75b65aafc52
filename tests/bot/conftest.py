from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.context import MemoryContextStore
from bot.dialogue import Dialogue
from core.clock import FixedClock
from core.settings import Settings
from knowledge_base.schema import CommonRules, Organization, Program, StatTable, Team
from knowledge_base.store import KnowledgeBase
from tests.fakes.nlu import KeywordNlu

FIXTURE = Path(__file__).with_name("fixture_kb.yaml")


@pytest.fixture
def fixture_kb() -> KnowledgeBase:
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    return KnowledgeBase(
        programs={p["id"]: Program.model_validate(p) for p in data["programs"]},
        teams={t["id"]: Team.model_validate(t) for t in data["teams"]},
        common_rules=CommonRules.model_validate(data["common_rules"]),
        organization=Organization.model_validate(data["organization"]),
        tables={t["id"]: StatTable.model_validate(t) for t in data["tables"]},
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2022, 6, 1, 1, 0, tzinfo=UTC))


@pytest.fixture
def keyword_nlu() -> KeywordNlu:
    return KeywordNlu()


@pytest.fixture
def make_dialogue(fixture_kb: KnowledgeBase, keyword_nlu: KeywordNlu, clock: FixedClock, settings: Settings):
    def make(**kwargs) -> Dialogue:
        store = kwargs.pop("context_store", None) or MemoryContextStore(clock, settings.dialogue_context_ttl_s)
        return Dialogue(fixture_kb, keyword_nlu, store, clock=clock, settings=settings, **kwargs)

    return make
