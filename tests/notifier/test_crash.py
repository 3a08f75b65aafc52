"""SIGKILL the delivery worker in the middle of a fan-out, restart it: one message per subscriber.

The fake Telegram server stalls every request after the 80th delivery, so the worker is
killed with rows claimed, some messages delivered and recorded, and requests in flight
(which a stalled server never delivers). The restarted worker must retake the dead
worker's claims after their lease and send each remaining subscriber exactly one message.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import SystemClock
from core.db import Database
from core.settings import Settings
from notifier.models import Delivery
from notifier.service import AnnouncementInput, AnnouncementService
from notifier.subscriptions import SubscriptionService
from tests.fakes.telegram_server import FakeTelegram

pytestmark = [pytest.mark.db, pytest.mark.slow]
SUBSCRIBERS = 200


def _worker_process(settings: Settings, telegram: FakeTelegram, cwd: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.effective_database_url,
        "VAR_DIR": str(settings.var_dir),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_RATE_OVERALL_PER_S": "0",
        "TELEGRAM_RATE_PER_CHAT_PER_S": "0",
        "DELIVERY_BATCH_SIZE": "40",
        "DELIVERY_CONCURRENCY": "4",
        "DELIVERY_CLAIM_LEASE_S": "1",
        "WORKER_POLL_INTERVAL_S": "0.2",
        "SMTP_PORT": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--drain"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


async def _count(db: Database, status: str) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).where(Delivery.status == status)) or 0)


async def test_sigkill_mid_fan_out_then_restart_sends_each_message_once(
    db: Database,
    settings: Settings,
    subscriptions: SubscriptionService,
    announcements: AnnouncementService,
    telegram: FakeTelegram,
    tmp_path: Path,
) -> None:
    for chat in range(1, SUBSCRIBERS + 1):
        # Night consent: the worker runs on the wall clock, which may be in quiet hours.
        await subscriptions.subscribe("telegram", str(1000 + chat), ["스마트물류"], consent=True, night_consent=True)
    notice = AnnouncementInput(title="스마트물류 공고", topics=("스마트물류",), period_kind="상시")
    ann = await announcements.create(notice)
    announcements.clock = SystemClock()  # deliveries due now for the wall-clock worker
    assert await announcements.publish(ann.id) == SUBSCRIBERS
    telegram.stall_after = 80

    first = _worker_process(settings, telegram, tmp_path)
    try:
        _wait_for(lambda: telegram.stalled > 0 or first.poll() is not None, 60, "the worker to reach the stall")
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        deadline = time.monotonic() + 30
        while await _count(db, "sent") != len(telegram.messages):
            assert time.monotonic() < deadline, "finished sends were not recorded"
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    assert len(telegram.messages) == 80
    assert await _count(db, "sending") > 0  # the dead worker left claimed rows behind

    telegram.release_stalled()
    second = _worker_process(settings, telegram, tmp_path)
    _, err = second.communicate(timeout=180)
    assert second.returncode == 0, err.decode()[-2000:]

    assert len(telegram.messages) == SUBSCRIBERS
    assert all(telegram.count(1000 + chat) == 1 for chat in range(1, SUBSCRIBERS + 1))
    assert await _count(db, "sent") == SUBSCRIBERS
