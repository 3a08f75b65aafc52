"""How long eligibility takes: the pure evaluator, free-answer extraction, and a whole five-turn
conversation through the dialogue with the trained embedded NLU (in-memory context store).

Usage: .venv/bin/python bench/eligibility_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.context import MemoryContextStore
from bot.dialogue import Dialogue
from bot.eligibility_parse import extract
from bot.reply import Message
from core.clock import FixedClock
from core.settings import Settings
from knowledge_base.eligibility import CompanyFacts, evaluate, load_regions, load_rules
from knowledge_base.loader import load_knowledge_base
from nlu.service import build_embedded

CONVERSATION = ["우리 회사도 지원받을 수 있나요?", "김포 양촌읍", "금속가공 제조업", "직원 6명이에요", "해당 없음"]


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples) * 1000:.3f} ms, p95 {p95 * 1000:.3f} ms, n={len(samples)}"


def _time(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


async def _conversations(repeat: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), _env_file=None)  # type: ignore[call-arg]
        clock = FixedClock(datetime(2022, 6, 1, tzinfo=UTC))
        dialogue = Dialogue(
            load_knowledge_base(),
            build_embedded(settings),
            MemoryContextStore(clock, settings.dialogue_context_ttl_s),
            clock=clock,
            settings=settings,
        )
        turns, wholes = [], []
        for n in range(repeat):
            whole = time.perf_counter()
            for line in CONVERSATION:
                start = time.perf_counter()
                await dialogue.respond(Message(channel="kakao", user_key=f"bench-{n}", text=line))
                turns.append(time.perf_counter() - start)
            wholes.append(time.perf_counter() - whole)
        return turns, wholes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    rules, regions, kb = load_rules(), load_regions(), load_knowledge_base()
    facts = CompanyFacts(sigungu="김포시", eupmyeondong="양촌읍", is_manufacturer=True, employees=6)
    print(f"evaluate (10 programs): {_ms(_time(lambda: evaluate(facts, rules, regions, None, kb), args.repeat))}")
    names = rules.representative_industries.values
    text = "직원 6명 제조업 소공인인데 김포 양촌읍이에요, 콤프레샤 교체 지원 받을 수 있나요?"
    print(f"extract (one long answer): {_ms(_time(lambda: extract(text, regions, names), args.repeat))}")
    turns, wholes = asyncio.run(_conversations(max(1, args.repeat // 10)))
    print(f"conversation turn (embedded NLU + flow + Kakao cards): {_ms(turns)}")
    print(f"whole five-turn conversation: {_ms(wholes)}")


if __name__ == "__main__":
    main()
