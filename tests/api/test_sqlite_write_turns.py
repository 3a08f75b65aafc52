"""On SQLite, the answer path's writers queue on the process's write turn (`Database.writing`).

Without it they met SQLite's busy handler, which sleeps in steps of up to 100 ms while later
arrivals overtake: in the Kakao benchmark some alert sign-ups waited seconds behind the dialogue
state writer and the delivery worker.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from api.container import build_services
from bot.context import UserState
from bot.ports import HandoffRequest
from core.clock import FixedClock
from core.settings import Settings
from notifier.worker import DeliveryWorker
from tests.fakes.nlu import KeywordNlu
from tests.fakes.smtp import Inbox, confirm_link, smtp

__all__ = ["smtp"]

pytestmark = pytest.mark.db


async def test_answer_path_writes_take_the_process_write_turn_on_sqlite(
    settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    # The behaviour is SQLite's; the opt-in mail goes to a real SMTP server on loopback.
    sqlite = settings.model_copy(update={"database_url": "", "smtp_port": smtp[1]})
    clock = FixedClock(datetime(2022, 6, 1, 1, 0, tzinfo=UTC))
    services = await build_services(sqlite, clock, nlu=KeywordNlu())
    assert services.db.engine.dialect.name == "sqlite"
    unqueued: list[str] = []

    def check(_conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE") and not services.db.writing_held:
            unqueued.append(" ".join(statement.split()[:3]))

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", check)
    try:
        await services.subscriptions.subscribe("kakao", "bk-001", ["스마트물류"], consent=True)
        await services.subscriptions.set_topics("kakao", "bk-001", ["스마트물류", "인증"])
        await services.subscriptions.set_night_consent("kakao", "bk-001", True)
        await services.subscriptions.unsubscribe("kakao", "bk-001")
        state = UserState()
        state.start_flow("handoff", company="김포정밀")
        await services.context.save("kakao", "u1", state)
        await services.context.flush()
        await DeliveryWorker(services.db, sqlite, clock, {}).claim(10)
        outcome = await services.optin.request(
            "kim@example.kr", ["인증"], consent=True, consent_channel="web", consent_text=""
        )
        assert outcome.status == "sent"
        assert await services.optin.confirm(confirm_link(smtp[0], "kim@example.kr").rsplit("/", 1)[1]) is not None
        handoff = HandoffRequest("kakao", "u1", "김포정밀", "010-1234-5678", "시험분석 상담", ("test_analysis",))
        await services.handoff_port.create_handoff(handoff)
        await services.handoff_port.record_intent("kakao", "u2", "test_analysis", "양촌기계")
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", check)
        await services.close()
    assert unqueued == []
