"""Database errors must not carry the statement's values: they end up in logs (log.exception)
and those values are companies' contacts and users' keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.context import DialogueStateRow
from core.db import Database

pytestmark = pytest.mark.db


async def test_a_failed_statement_does_not_repeat_its_values(db: Database) -> None:
    row = {
        "channel": "kakao",
        "user_key": "user-4f1c",
        "state": '{"slots": {"phone": "010-1234-5678"}}',
        "updated_at": datetime(2022, 3, 2, tzinfo=UTC),
    }
    async with db.engine.begin() as conn:
        await conn.execute(insert(DialogueStateRow).values(**row))
    with pytest.raises(IntegrityError) as failed:
        async with db.engine.begin() as conn:
            await conn.execute(insert(DialogueStateRow).values(**row))
    # PostgreSQL's own DETAIL still names the conflicting key's value; the logging filter
    # (core/privacy.py) masks phones and e-mails there.
    assert "010-1234-5678" not in str(failed.value)
    assert "parameters hidden" in str(failed.value)
