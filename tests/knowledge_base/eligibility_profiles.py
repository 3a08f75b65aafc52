"""The company-profile table (eligibility_profiles.yaml), shared by the evaluator, API and chat tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

TABLE = Path(__file__).with_name("eligibility_profiles.yaml")


@dataclass(frozen=True)
class Profile:
    id: str
    facts: dict[str, Any]
    chat: tuple[str, ...]
    expected: dict[str, str]  # program id -> 신청 가능 / 불가 / 확인 필요
    asked: tuple[str, ...] = ()  # the programs the chat asks about

    @property
    def chat_expected(self) -> dict[str, str]:
        """What the chat's result shows: only the programs it asked about, when it named any."""
        return {pid: outcome for pid, outcome in self.expected.items() if not self.asked or pid in self.asked}


def load_profiles() -> list[Profile]:
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    programs = data["programs"]
    profiles = []
    for raw in data["profiles"]:
        assert len(raw["expected"]) == len(programs), raw["id"]
        expected = dict(zip(programs, raw["expected"], strict=True))
        asked = tuple(raw.get("asked") or ())
        assert set(asked) <= set(programs), raw["id"]
        profiles.append(Profile(raw["id"], raw["facts"], tuple(raw.get("chat") or ()), expected, asked))
    return profiles


def profile_params(chat_only: bool = False) -> list[Any]:
    return [pytest.param(p, id=p.id) for p in load_profiles() if p.chat or not chat_only]


def outcomes(results: list[dict[str, Any]]) -> dict[str, str]:
    return {r["program_id"]: r["outcome"] for r in results}
