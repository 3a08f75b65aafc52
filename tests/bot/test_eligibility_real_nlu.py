"""The eligibility conversation with the trained embedded NLU a user meets (not the keyword fake)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.context import MemoryContextStore
from bot.dialogue import Dialogue
from bot.reply import Message
from core.clock import FixedClock
from core.settings import PACKAGE_ROOT, Settings
from knowledge_base.loader import load_knowledge_base
from nlu.embedded import EmbeddedNlu, load_or_train
from nlu.training_data import load_training_data
from tests.knowledge_base.eligibility_profiles import Profile, outcomes, profile_params


@pytest.fixture(scope="module")
def nlu(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedNlu:
    data = load_training_data(PACKAGE_ROOT / "nlu" / "data")
    return load_or_train(data, Path(tmp_path_factory.mktemp("nlu-var")))


@pytest.fixture
def dialogue(nlu: EmbeddedNlu, settings: Settings) -> Dialogue:
    clock = FixedClock(datetime(2022, 6, 1, 1, 0, tzinfo=UTC))
    store = MemoryContextStore(clock, settings.dialogue_context_ttl_s)
    return Dialogue(load_knowledge_base(), nlu, store, clock=clock, settings=settings)


async def say(dialogue: Dialogue, text: str):
    return await dialogue.respond(Message(channel="telegram", user_key="42", text=text))


@pytest.mark.parametrize("profile", profile_params(chat_only=True))
async def test_profile_table_with_the_real_nlu(dialogue: Dialogue, profile: Profile) -> None:
    for line in profile.chat:
        reply = await say(dialogue, line)
        assert reply.intent == "eligibility", (line, reply.texts)
    assert outcomes(reply.data["eligibility"]["results"]) == profile.chat_expected  # type: ignore[index]


async def test_done_when_in_plain_words(dialogue: Dialogue) -> None:
    await say(dialogue, "우리 회사도 지원받을 수 있나요?")
    for answer in ["김포 양촌읍이에요", "금속가공 제조업입니다", "직원은 6명이에요"]:
        assert "eligibility" not in (await say(dialogue, answer)).data
    final = await say(dialogue, "해당 없음")
    text = final.texts[0]
    assert "· 콤프레샤 교체" in text.split("❓ 확인 필요")[0]
    assert "소공인" in text and "먼저 선정된 기업만" in text.split("❌ 불가")[0]


async def test_an_unparsed_answer_keeps_the_question_a_clear_new_question_leaves(dialogue: Dialogue) -> None:
    await say(dialogue, "우리 회사도 지원받을 수 있나요?")
    again = await say(dialogue, "경기도요")
    assert again.intent == "eligibility" and "어디에 있나요" in again.texts[0]
    other = await say(dialogue, "시험분석비 예산 얼마예요")
    assert other.intent == "program_budget"


async def test_short_answers_to_yes_no_questions(dialogue: Dialogue) -> None:
    for line in ["우리도 신청 가능한가요", "김포", "제조업", "30명", "전기자동차"]:
        await say(dialogue, line)
    final = await say(dialogue, "참여 안 했어요")
    assert outcomes(final.data["eligibility"]["results"])["ev_rnd_second"] == "불가"  # type: ignore[index]
