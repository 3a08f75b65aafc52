from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import event, text

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
    there_store = HybridContextStore(db, clock, ttl_s=1800)
    there = make_dialogue(context_store=there_store)
    await there.respond(Message("kakao", "u9", "우리 회사도 받을 수 있나요?"))
    await there_store.flush()
    clock.advance(seconds=1)
    assert (await here.load("kakao", "u9")).flow == "eligibility"


async def test_a_flow_state_survives_a_restart_and_ends_with_its_row(make_dialogue, db, clock, statements) -> None:
    first_store = HybridContextStore(db, clock, ttl_s=1800)
    first = make_dialogue(context_store=first_store)
    await first.respond(Message("kakao", "u1", "우리 회사도 받을 수 있나요?"))
    await first_store.flush()
    assert writes(statements)  # the eligibility flow went to the table
    stored = await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1")
    assert stored.flow == "eligibility"

    # A new process on the same database continues the conversation where it was.
    second_store = HybridContextStore(db, clock, ttl_s=1800)
    second = make_dialogue(context_store=second_store)
    await second.respond(Message("kakao", "u1", "김포 양촌읍"))
    await second_store.flush()
    after = await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1")
    assert after.flow == "eligibility"
    assert after.slots != stored.slots  # the answer was recorded on top of the stored facts

    await second.respond(Message("kakao", "u1", "처음으로"))
    await second_store.flush()
    assert await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1") == UserState()
    assert writes(statements)[-1].startswith("DELETE")


async def test_a_flow_state_expires_after_30_idle_minutes(db, clock) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800)
    state = UserState()
    state.start_flow("handoff", company="김포정밀")
    await store.save("kakao", "u1", state)
    await store.flush()
    clock.advance(seconds=1799)
    assert (await store.load("kakao", "u1")).slots == {"company": "김포정밀"}
    await store.save("kakao", "u1", state)  # answering keeps it alive
    await store.flush()
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
        await first.start()  # as the app's lifespan does: the context writer runs
        await first.dialogue.respond(Message("webchat", "s1", "현장데스크 상담 신청"))
        await first.dialogue.respond(Message("webchat", "s1", "김포정밀"))
        await first.stop()  # flushes the pending flow state and ends the writer
        stored = await HybridContextStore(first.db, clock, ttl_s=1800).load("webchat", "s1")
        assert stored.slots.get("company") == "김포정밀"
    finally:
        await first.close()
    second = await build_services(settings, clock, nlu=KeywordNlu())  # the restart
    try:
        reply = await second.dialogue.respond(Message("webchat", "s1", "010-1234-5678"))
    finally:
        await second.close()
    assert "상담받고 싶으세요" in reply.texts[0]


async def test_the_cli_services_flush_on_close_without_a_started_writer(settings, clock) -> None:
    """`gopa ask/chat` build the services and close them without `start()`: close writes what is pending."""
    from api.container import build_services
    from tests.fakes.nlu import KeywordNlu

    first = await build_services(settings, clock, nlu=KeywordNlu())
    try:
        await first.dialogue.respond(Message("cli", "s1", "현장데스크 상담 신청"))
    finally:
        await first.close()
    second = await build_services(settings, clock, nlu=KeywordNlu())
    try:
        state = await second.context.load("cli", "s1")
    finally:
        await second.close()
    assert state.flow == "handoff"


def handoff(company: str) -> UserState:
    state = UserState()
    state.start_flow("handoff", company=company)
    return state


async def test_flow_turns_are_answered_before_their_state_is_written(db, clock, statements) -> None:
    """With the writer running, a save touches no table; a burst of saves is one commit."""
    store = HybridContextStore(db, clock, ttl_s=1800, flush_s=3600)
    await store.start()
    try:
        for n in range(20):
            await store.save("kakao", f"u{n}", handoff(f"회사{n}"))
        assert writes(statements) == []  # nothing written on the answer's path
        await store.flush()
        assert len(writes(statements)) <= 2  # one batched upsert (drivers may split it), not 20
    finally:
        await store.stop()
    assert (await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u7")).slots == {"company": "회사7"}


async def test_a_pending_state_is_seen_by_load_before_it_is_written(db, clock, statements) -> None:
    # max_users=1: the LRU forgets u1 when u2 arrives, so only the pending write can answer for u1.
    store = HybridContextStore(db, clock, ttl_s=1800, max_users=1)
    await store.save("kakao", "u1", handoff("김포정밀"))
    await store.save("kakao", "u2", handoff("양촌기계"))
    assert (await store.load("kakao", "u1")).slots == {"company": "김포정밀"}
    assert (await store.load("kakao", "u2")).slots == {"company": "양촌기계"}
    assert writes(statements) == []
    assert await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1") == UserState()  # not yet in the table


async def test_saves_of_one_user_are_coalesced_and_the_latest_wins(db, clock, statements) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800)
    for company in ("첫째", "둘째", "셋째"):
        await store.save("kakao", "u1", handoff(company))
    await store.flush()
    upserts = writes(statements)
    assert len(upserts) == 1  # three saves, one row written once
    assert (await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1")).slots == {"company": "셋째"}
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM dialogue_states"))).scalar_one() == 1


async def test_stop_writes_what_is_pending_and_ends_the_writer(db, clock) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800, flush_s=3600)  # the writer would wait an hour
    await store.start()
    assert store.running
    await store.save("kakao", "u1", handoff("김포정밀"))
    await store.stop()
    assert not store.running
    assert (await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1")).slots == {"company": "김포정밀"}
    await store.stop()  # twice is harmless


async def test_a_state_cleared_after_a_save_is_not_resurrected_by_the_flush(db, clock) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800)
    await store.save("kakao", "u1", handoff("김포정밀"))
    await store.clear("kakao", "u1")
    assert await store.load("kakao", "u1") == UserState()
    await store.flush()
    assert await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1") == UserState()

    # Written, saved again (pending), then cleared: the flush deletes the row instead of updating it.
    await store.save("kakao", "u2", handoff("양촌기계"))
    await store.flush()
    await store.save("kakao", "u2", handoff("대곶정밀"))
    await store.clear("kakao", "u2")
    await store.flush()
    assert await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u2") == UserState()

    # A flow that ends (a plain state saved over it) deletes its row too, even once the LRU forgot it.
    small = HybridContextStore(db, clock, ttl_s=1800, max_users=1)
    await small.save("kakao", "u3", handoff("월곶산업"))
    await small.save("kakao", "u4", UserState(program_id="p1"))  # pushes u3 out of the LRU
    clock.advance(seconds=2)
    await small.load("kakao", "u5")  # re-reads the table's keys, which do not have u3 yet
    await small.save("kakao", "u3", UserState(program_id="p1"))
    await small.flush()
    assert await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u3") == UserState()


class _Signal(logging.Handler):
    """Sets an asyncio event when the writer logs an error."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.fired = asyncio.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.fired.set()


async def test_a_failed_write_is_logged_and_retried_by_the_writer(db, clock) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800, flush_s=0.01)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP TABLE dialogue_states"))  # a real failure of the database
    signal = _Signal()
    logger = logging.getLogger("bot.context")
    logger.addHandler(signal)
    written = asyncio.Event()

    def on_success(_conn, _cursor, statement, *_args) -> None:  # fires only for statements that ran
        if statement.strip().upper().startswith("INSERT INTO DIALOGUE_STATES"):
            written.set()

    event.listen(db.engine.sync_engine, "after_cursor_execute", on_success)
    await store.start()
    try:
        await store.save("kakao", "u1", handoff("김포정밀"))
        await asyncio.wait_for(signal.fired.wait(), timeout=10)
        assert "dialogue states not written" in signal.messages[0]
        assert store.running  # the writer survived the failure
        assert (await store.load("kakao", "u1")).slots == {"company": "김포정밀"}  # still held, not lost

        await db.create_all()  # the database is back
        await asyncio.wait_for(written.wait(), timeout=10)  # the writer retried on its own
        await store.flush()  # waits for that round's commit
    finally:
        await store.stop()
        logger.removeHandler(signal)
        event.remove(db.engine.sync_engine, "after_cursor_execute", on_success)
    assert (await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u1")).slots == {"company": "김포정밀"}


@pytest.fixture
async def refused_key(db) -> str:
    """A user key longer than the table's 128-character column: PostgreSQL refuses the row;
    SQLite does not check lengths, so a trigger refuses it the same way."""
    if db.engine.dialect.name == "sqlite":
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_long_keys BEFORE INSERT ON dialogue_states "
                    "WHEN length(NEW.user_key) > 128 BEGIN SELECT RAISE(ABORT, 'user_key too long'); END"
                )
            )
    return "kakao-user-" + "7" * 130


async def test_a_state_the_table_refuses_does_not_hold_back_the_others(db, clock, refused_key, caplog) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800)
    await store.save("kakao", "u1", handoff("김포정밀"))
    await store.save("kakao", refused_key, handoff("대곶기계"))
    await store.save("kakao", "u2", handoff("양촌기계"))
    with pytest.raises(Exception, match="dialogue states not written"):
        await store.flush()
    # The others are in the table after the first round; the refused one is still answered from memory.
    table = HybridContextStore(db, clock, ttl_s=1800)
    assert (await table.load("kakao", "u1")).slots == {"company": "김포정밀"}
    assert (await table.load("kakao", "u2")).slots == {"company": "양촌기계"}
    assert (await store.load("kakao", refused_key)).slots == {"company": "대곶기계"}

    # Retried a bounded number of rounds, then dropped from the writer (logged) but kept in memory.
    for _ in range(10):
        try:
            await store.flush()
            break
        except Exception:
            continue
    else:
        pytest.fail("the refused state was never given up")
    await store.flush()  # nothing pending any more
    assert any("dropped" in r.getMessage() for r in caplog.records)
    assert (await store.load("kakao", refused_key)).slots == {"company": "대곶기계"}
    # The log names the user by a hash only and carries none of the state (the form's contact data).
    assert refused_key not in caplog.text and "7" * 20 not in caplog.text and "대곶기계" not in caplog.text


async def test_states_are_not_dropped_while_the_database_refuses_every_write(db, clock) -> None:
    store = HybridContextStore(db, clock, ttl_s=1800)
    await store.save("kakao", "u1", handoff("김포정밀"))
    await store.save("kakao", "u2", handoff("양촌기계"))
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP TABLE dialogue_states"))
    for _ in range(10):  # far more rounds than a refused row gets
        with pytest.raises(Exception, match="dialogue states not written"):
            await store.flush()
    await db.create_all()
    await store.flush()
    assert (await HybridContextStore(db, clock, ttl_s=1800).load("kakao", "u2")).slots == {"company": "양촌기계"}
