"""20 concurrent writer processes on the embedded SQLite default for a minute.

Each process has its own engine and writes consultations (read the company, insert, update
with its version) as fast as it can. Reports writes, errors ('database is locked' or other)
and write latency. Usage:

    .venv/bin/python bench/sqlite_writers.py [--writers 20] [--seconds 60] [--db /tmp/x.db]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

from core.clock import SystemClock
from core.db import Database
from core.settings import Settings
from desk.schemas import CompanyCreate, ConsultationCreate, ConsultationUpdate
from desk.service import DeskService


def _settings(path: Path) -> Settings:
    return Settings(var_dir=path.parent, database_url=f"sqlite+aiosqlite:///{path}", _env_file=None)  # type: ignore[call-arg]


async def _prepare(path: Path) -> tuple[int, int]:
    db = Database(_settings(path))
    await db.create_all()
    desk = DeskService(db, SystemClock())
    company = await desk.create_company("bench", CompanyCreate(name="벤치마크기업"))
    staff = await desk.create_staff("bench", "bench", "long enough password")
    await db.dispose()
    return company.id, staff.id


async def _write(path: Path, company_id: int, staff_id: int, until: float) -> tuple[int, list[str], list[float]]:
    db = Database(_settings(path))
    desk = DeskService(db, SystemClock())
    staff = await desk.staff_by_id(staff_id)
    assert staff is not None
    writes, errors, latencies = 0, [], []
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            made = await desk.create_consultation(
                staff, ConsultationCreate(company_id=company_id, categories=["기타"], notes="bench")
            )
            await desk.update_consultation(staff, made.id, ConsultationUpdate(version=made.version, status="진행"))
            writes += 2
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        latencies.append((time.perf_counter() - start) * 1000 / 2)
    await db.dispose()
    return writes, errors, latencies


def _worker(args: tuple[str, int, int, float]) -> tuple[int, list[str], list[float]]:
    path, company_id, staff_id, until = args
    return asyncio.run(_write(Path(path), company_id, staff_id, until))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--db", type=Path, default=None)
    options = parser.parse_args()
    path = options.db or Path(tempfile.mkdtemp()) / "bench.db"
    company_id, staff_id = asyncio.run(_prepare(path))
    until = time.monotonic() + options.seconds
    with multiprocessing.Pool(options.writers) as pool:
        results = pool.map(_worker, [(str(path), company_id, staff_id, until)] * options.writers)
    writes = sum(r[0] for r in results)
    errors = [e for r in results for e in r[1]]
    latencies = sorted(x for r in results for x in r[2])
    locked = sum("database is locked" in e for e in errors)
    print(f"writers={options.writers} seconds={options.seconds:g} db={path}")
    print(f"writes={writes} ({writes / options.seconds:.1f}/s) errors={len(errors)} database_is_locked={locked}")
    if latencies:
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"write latency ms: median={statistics.median(latencies):.1f} p95={p95:.1f} max={latencies[-1]:.1f}")
    for error in errors[:5]:
        print("error:", error)


if __name__ == "__main__":
    main()
