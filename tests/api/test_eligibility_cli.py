"""`gopa chat` with piped input: the eligibility conversation in the terminal, a correction included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from knowledge_base.loader import load_knowledge_base
from tests.knowledge_base.eligibility_profiles import load_profiles

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.db
WELCOME = "안녕하세요, 김포산업진흥원 기업지원 챗봇입니다."
RESULT = "지원사업 신청 자격 확인 결과예요"


def gopa_chat(lines: list[str], settings: Settings, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VAR_DIR": str(settings.var_dir)}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "chat"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_gopa_chat_piped_done_when_and_correction(settings: Settings, tmp_path: Path) -> None:
    lines = ["우리 회사도 지원받을 수 있나요?", "김포 양촌읍", "금속가공 제조업", "직원 6명이에요", "해당 없음"]
    out = gopa_chat([*lines, "아 직원 12명이에요"], settings, tmp_path)
    first, corrected = out.split("알겠어요 (상시근로자 12명)")
    able = first.rsplit("✅ 신청 가능 (2)", 1)[1].split("❓ 확인 필요")[0]
    assert "· 콤프레샤 교체" in able and "소공인 — 상시근로자 10명 미만 — 충족 (상시근로자 6명)" in able
    assert "중기부 「스마트공장 보급·확산사업」에 먼저 선정된 기업만" in first
    refused = corrected.split("❌ 불가 (2)")[1]
    assert "· 콤프레샤 교체" in refused and "답변: 상시근로자 12명" in refused


def grouped(result_text: str) -> dict[str, str]:
    """'· name' lines of a text result -> the outcome group they are listed under."""
    found: dict[str, str] = {}
    outcome = None
    for line in result_text.splitlines():
        header = re.match(r"^(?:✅|❓|❌) (신청 가능|확인 필요|불가) \(\d+\)$", line)
        if header:
            outcome = header.group(1)
        elif line.startswith("· ") and outcome:
            found[line[2:]] = outcome
    return found


def test_profile_table_through_gopa_chat(settings: Settings, tmp_path: Path) -> None:
    """Every chat profile in one piped session, each ended with 처음으로 (the welcome marks the end)."""
    profiles = [p for p in load_profiles() if p.chat]
    lines: list[str] = []
    for profile in profiles:
        lines += [*profile.chat, "처음으로"]
    out = gopa_chat(lines, settings, tmp_path)
    segments = out.split(WELCOME)[: len(profiles)]
    assert len(segments) == len(profiles), out
    kb = load_knowledge_base()
    for profile, segment in zip(profiles, segments, strict=True):
        last_result = segment.rsplit(RESULT, 1)[1]
        expected = {kb.program(pid).short_name: outcome for pid, outcome in profile.chat_expected.items()}
        assert grouped(last_result) == expected, profile.id
