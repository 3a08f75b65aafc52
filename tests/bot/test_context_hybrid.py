from __future__ import annotations

import pytest
from sqlalchemy import event

from bot.context import HybridContextStore, UserState
from bot.reply import Message

pytestmark = pytest.mark.db


@pytest.fixture
def statements(db):
    """Every SQL statement the database runs, upper-cased, in order."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.strip().upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]


async def test_plain_questions_write_nothing_to_the_database(make_dialogue, db, clock, statements) -> None:
    dialogue = make_dialogue(context_store=HybridContextStore(db, clock, ttl_s=1800))
    await dialogue.respond(Message("kakao", "u1", "시험분석비 알려줘"))
    reply = await dialogue.respond(Message("kakao", "u1", "예산은?"))
    assert "25백만원" in reply.texts[0]  # the context carried over, from memory
    assert writes(statements) == []
    # One read of the table's live keys; further users new to this process within a second cost none.
    await dialogue.respond(Message("kakao", "u2", "시험분석비 알려줘"))
    assert len([s for s in statements if s.startswith("SELECT")]) == 1
    assert writes(statements) == []


async def test_a_flow_started_by_another_process_is_found_after_the_key_sync(make_dialogue, db, clock) -> None:
    here = HybridContextStore(db, clock, ttl_s=1800, sync_s=1)
    assert await here.load("kakao", "other") == UserState()  # syncs the (empty) key list
    there = make_dialogue(context_store=HybridContextStore(db, clock, ttl_s=1800))
    await there.respond(Message("kakao", "u9", "우리 회사도 받을 수 있나요?"))
    clock.advance(seconds=1)
    assert (await here.load("kakao", "u9")).flow == "eligibility"


async def test_a_flow_state_survives_a_restart_and_ends_with_its_row(make_dialogue, db, clock, statements) -> None:
    first = make_dialogue(context_store=HybridContextStore(db, clock, ttl_s=1800))
    await first.respond(Message("kakao", "u1", "우리 회사도 받을 수 있나요?"))
    assert writes(statements)  # the eligibility flow went to the table
    stored = await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1")
    assert stored.flow == "eligibility"

    # A new process on the same database continues the conversation where it was.
    second = make_dialogue(context_store=HybridContextStore(db, clock, ttl_s=1800))
    await second.respond(Message("kakao", "u1", "김포 양촌읍"))
    after = await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1")
    assert after.flow == "eligibility"
    assert after.slots != stored.slots  # the answer was recorded on top of the stored facts

    await second.respond(Message("kakao", "u1", "처음으로"))
    assert await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1") == UserState()
    assert writes(statements)[-1].startswith("DELETE")


async def test_a_flow_state_expires_after_30_idle_minutes(db, clock) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800)
    state = UserState()
    state.start_flow("handoff", company="김포정밀")
    await store.save("kakao", "u1", state)
    clock.advance(seconds=1799)
    assert (await store.load("kakao", "u1")).slots == {"company": "김포정밀"}
    await store.save("kakao", "u1", state)  # answering keeps it alive
    clock.advance(seconds=1801)
    assert await store.load("kakao", "u1") == UserState()
    assert await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1") == UserState()
    assert await store.purge_expired() == 1


async def test_the_container_continues_a_flow_after_a_restart(settings, clock) -> None:
    from api.container import build_services
    from tests.fakes.nlu import KeywordNlu

    assert settings.dialogue_context_store == "hybrid"  # the default
    first = await build_services(settings, clock, nlu=KeywordNlu())
    try:
        await first.dialogue.respond(Message("webchat", "s1", "현장데스크 상담 신청"))
        await first.dialogue.respond(Message("webchat", "s1", "김포정밀"))
    finally:
        await first.close()
    second = await build_services(settings, clock, nlu=KeywordNlu())  # the restart
    try:
        reply = await second.dialogue.respond(Message("webchat", "s1", "010-1234-5678"))
    finally:
        await second.close()
    assert "상담받고 싶으세요" in reply.texts[0]
