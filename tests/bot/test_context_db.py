from __future__ import annotations

import pytest

from bot.context import DbContextStore, UserState

pytestmark = pytest.mark.db


async def test_db_store_round_trips_state_and_slots(db, clock) -> None:
    store = DbContextStore(db, clock, ttl_s=60)
    assert await store.load("kakao", "u1") == UserState()
    state = UserState(program_id="test_analysis", last_intent="program_budget")
    state.start_flow("handoff", company="김포정밀")
    await store.save("kakao", "u1", state)
    state.slots["contact"] = "x"
    await store.save("kakao", "u1", state)
    loaded = await store.load("kakao", "u1")
    assert loaded == state
    assert await store.load("telegram", "u1") == UserState()


async def test_db_store_forgets_after_ttl_and_purges(db, clock) -> None:
    store = DbContextStore(db, clock, ttl_s=60)
    await store.save("kakao", "old", UserState(program_id="smart_factory"))
    clock.advance(seconds=61)
    await store.save("kakao", "new", UserState(program_id="test_analysis"))
    assert (await store.load("kakao", "old")).program_id is None
    assert await store.purge_expired() == 1
    assert (await store.load("kakao", "new")).program_id == "test_analysis"
    await store.clear("kakao", "new")
    assert (await store.load("kakao", "new")).program_id is None


async def test_dialogue_context_carries_over_with_the_db_store(make_dialogue, db, clock) -> None:
    from bot.reply import Message

    dialogue = make_dialogue(context_store=DbContextStore(db, clock, ttl_s=60))
    await dialogue.respond(Message("kakao", "u1", "시험분석비 알려줘"))
    reply = await dialogue.respond(Message("kakao", "u1", "예산은?"))
    assert "25백만원" in reply.texts[0]


async def test_the_container_uses_the_db_store_when_configured(settings, clock) -> None:
    from api.container import build_services
    from bot.reply import Message
    from tests.fakes.nlu import KeywordNlu

    shared = settings.model_copy(update={"dialogue_context_store": "db"})
    first = await build_services(shared, clock, nlu=KeywordNlu())
    second = await build_services(shared, clock, nlu=KeywordNlu())  # another API process
    try:
        await first.dialogue.respond(Message("kakao", "u1", "시험분석비 지원사업 알려줘"))
        reply = await second.dialogue.respond(Message("kakao", "u1", "예산은?"))
    finally:
        await first.close()
        await second.close()
    assert "25백만원 (2,500만원)" in reply.texts[0]


async def test_two_saves_of_a_new_user_at_once_do_not_collide(db, clock) -> None:
    import asyncio

    store = DbContextStore(db, clock, ttl_s=60)
    states = []
    for company in ("가", "나", "다", "라"):
        state = UserState()
        state.start_flow("handoff", company=company)
        states.append(state)
    await asyncio.gather(*(store.save("kakao", "u1", state) for state in states))
    assert (await store.load("kakao", "u1")).slots["company"] in {"가", "나", "다", "라"}
