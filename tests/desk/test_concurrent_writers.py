"""Many writers at once on the embedded SQLite default: no 'database is locked'.

Each writer has its own engine (its own connection), as separate workers would; each write
reads first (the company) and then inserts, the pattern that trips SQLite's lock upgrade.
The one-minute run is bench/sqlite_writers.py (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.clock import SystemClock
from core.db import Database
from core.settings import Settings
from desk.models import Consultation
from desk.schemas import CompanyCreate, ConsultationCreate, ConsultationUpdate
from desk.service import DeskService

WRITERS = 20
WRITES_EACH = 15


@pytest.mark.db
async def test_twenty_concurrent_writers(settings: Settings, db: Database) -> None:
    first = DeskService(db, SystemClock())
    company = await first.create_company("bench", CompanyCreate(name="동시쓰기"))
    staff = await first.create_staff("writer", "writer", "long enough password")

    async def writer(index: int) -> int:
        database = Database(settings)
        desk = DeskService(database, SystemClock())
        try:
            for n in range(WRITES_EACH):
                made = await desk.create_consultation(
                    staff, ConsultationCreate(company_id=company.id, categories=["기타"], notes=f"{index}-{n}")
                )
                await desk.update_consultation(staff, made.id, ConsultationUpdate(version=made.version, status="진행"))
            return WRITES_EACH
        finally:
            await database.dispose()

    results = await asyncio.gather(*(writer(i) for i in range(WRITERS)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], f"{len(failures)} writers failed, first: {failures[:1]!r}"
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Consultation)) == WRITERS * WRITES_EACH
