"""`gopa ask` and `gopa chat` as a user runs them (a real process, the embedded defaults)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.db


def gopa(args: list[str], settings: Settings, stdin: str | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VAR_DIR": str(settings.var_dir), "RUN_SCHEDULER": "false"}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.var_dir.parent,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_ask_answers_from_the_kb_and_admits_what_it_cannot(settings: Settings) -> None:
    budget = gopa(["ask", "시험분석비 지원사업 예산이 얼마예요?"], settings)
    assert "25백만원 (2,500만원)" in budget
    assert "25개사" in budget
    assert "출처: 김포산업진흥원 2022년 주요업무계획" in budget
    assert "빠른 답장: 1) " in budget

    lunch = gopa(["ask", "오늘 점심 뭐 먹지"], settings)
    assert "어려워요" in lunch
    assert "현장데스크 상담" in lunch
    assert "070-4269-4084" in lunch
    assert "백만원" not in lunch


def test_chat_keeps_context_and_picks_quick_replies_by_number(settings: Settings) -> None:
    out = gopa(["chat"], settings, stdin="시험분석비 지원사업 알려줘\n언제 신청해요?\n2\n종료\n이 줄은 읽지 않아요\n")
    answers = [block for block in out.split("\n\n") if block.strip()]
    assert len(answers) == 3
    assert "6월 4주~7월 3주" in answers[1]
    assert "2022년 계획 기준" in answers[1]
    # "2" is the second quick reply of the schedule answer (after 알림 신청): the same program's budget.
    assert "빠른 답장: 1) 알림 신청 | 2) 예산·규모" in answers[1]
    assert "25백만원 (2,500만원)" in answers[2]
