"""Notifier benchmark: one announcement to N subscribers through the fake Telegram server.

Measures: time to create the deliveries (set-based fan-out), time to deliver them all with
pacing off by `--workers` worker processes sharing the outbox and the messages per second,
their CPU per message, the fake server's CPU, peak memory (max RSS), and, with pacing on,
the rate the fake server actually saw. The fake server runs as its own process. Each worker
process starts, opens its `Bot` (getMe) and waits; the clock starts when all are told to go.

    .venv/bin/python bench/notifier_bench.py [--subscribers 100000] [--paced 150] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import insert

from core.clock import SystemClock
from core.db import Database
from core.settings import Settings
from notifier.channels import TelegramChannel
from notifier.models import Subscriber, SubscriberTopic
from notifier.service import AnnouncementInput, AnnouncementService
from notifier.worker import DeliveryWorker, Pacer

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-token"


def start_fake() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_server"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (the fake server's share of the machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kb() -> int:
    """VmHWM of this process (ru_maxrss of an exec'd child keeps the forking parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def stats(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as response:
        return json.loads(response.read())


async def add_subscribers(db: Database, count: int, topic: str, first_chat: int) -> None:
    if count == 0:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "channel": "telegram",
            "address": str(first_chat + i),
            "topics": [topic],
            "consent_at": now,
            "night_consent_at": now,  # the benchmark may run at night (quiet hours would defer it)
            "active": True,
            "unsubscribe_token": f"t{first_chat + i}",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    async with db.session() as session:
        result = await session.execute(insert(Subscriber).returning(Subscriber.id), rows)
        ids = result.scalars().all()
        await session.execute(insert(SubscriberTopic), [{"subscriber_id": i, "topic_key": topic} for i in ids])
        await session.commit()


def bench_settings(var_dir: Path, port: int, concurrency: int) -> Settings:
    return Settings(
        var_dir=var_dir,
        telegram_bot_token=SecretStr(TOKEN),
        telegram_base_url=f"http://127.0.0.1:{port}/bot",
        delivery_batch_size=2000,
        delivery_concurrency=concurrency,
        _env_file=None,  # type: ignore[call-arg]
    )


async def worker_process(var_dir: Path, port: int, concurrency: int) -> None:
    """One `--worker-of` child: open the Bot, say ready, wait for the go line, drain, report."""
    settings = bench_settings(var_dir, port, concurrency)
    db = Database(settings)
    channel = TelegramChannel(TOKEN, settings.telegram_base_url, pool_size=concurrency)
    await channel.start()
    worker = DeliveryWorker(db, settings, SystemClock(), {"telegram": channel})
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    cpu = time.process_time()
    settled = await worker.drain()
    report = {
        "sent": worker.sent,
        "settled": settled,
        "cpu_s": time.process_time() - cpu,
        "rss_mb": peak_rss_kb() / 1024,
    }
    await channel.close()
    await db.dispose()
    print(json.dumps(report), flush=True)


def deliver_with_processes(var_dir: Path, port: int, workers: int, concurrency: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--worker-of", str(var_dir), "--port", str(port)]
    procs = [
        subprocess.Popen(
            [*command, "--concurrency", str(concurrency)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        assert proc.stdout is not None
        reports.append(json.loads(proc.stdout.readline()))
        proc.wait(timeout=60)
    elapsed = time.perf_counter() - started
    sent = sum(r["sent"] for r in reports)
    return {
        "workers": workers,
        "deliver_s": round(elapsed, 2),
        "settled": sum(r["settled"] for r in reports),
        "sent_per_worker": [r["sent"] for r in reports],
        "messages_per_s": round(sent / elapsed),
        "worker_cpu_ms_per_message": round(sum(r["cpu_s"] for r in reports) * 1000 / max(sent, 1), 3),
        "worker_peak_rss_mb": round(max(r["rss_mb"] for r in reports)),
    }


async def run(subscribers: int, paced: int, concurrency: int, workers: int) -> dict[str, object]:
    fake, port = start_fake()
    tmp = Path(tempfile.mkdtemp(prefix="gopa-bench-"))
    settings = bench_settings(tmp, port, concurrency)
    db = Database(settings)
    await db.create_all()
    clock = SystemClock()
    service = AnnouncementService(db, settings, clock)
    result: dict[str, object] = {"subscribers": subscribers}
    try:
        await add_subscribers(db, subscribers, "스마트물류", 10_000_000)
        await add_subscribers(db, paced, "관광레저", 90_000_000)
        ann = await service.create(AnnouncementInput(title="스마트물류 벤치마크 공고", topics=("스마트물류",)))
        started = time.perf_counter()
        created = await service.publish(ann.id)
        result["fan_out_s"] = round(time.perf_counter() - started, 2)
        result["deliveries_created"] = created

        fake_cpu = cpu_seconds(fake.pid)
        result |= await asyncio.to_thread(deliver_with_processes, tmp, port, workers, concurrency)
        result["fake_server_cpu_ms_per_message"] = round(
            (cpu_seconds(fake.pid) - fake_cpu) * 1000 / max(subscribers, 1), 3
        )
        seen = stats(port)
        result["server_delivered"] = seen["delivered"]
        result["max_per_chat"] = seen["max_per_chat"]

        if paced:
            limit = settings.telegram_rate_overall_per_s
            tourism = await service.create(AnnouncementInput(title="관광레저 벤치마크 공고", topics=("관광레저",)))
            await service.publish(tourism.id)
            before = stats(port)["delivered"]
            channel = TelegramChannel(TOKEN, settings.telegram_base_url, pool_size=concurrency)
            await channel.start()
            paced_worker = DeliveryWorker(db, settings, clock, {"telegram": channel}, {"telegram": Pacer(limit, 1.0)})
            started = time.perf_counter()
            await paced_worker.drain()
            elapsed = time.perf_counter() - started
            after = stats(port)
            result["paced_limit_per_s"] = limit
            result["paced_messages"] = after["delivered"] - before
            result["paced_rate_per_s"] = round((paced_worker.sent - 1) / elapsed, 2)
            await channel.close()
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        await db.dispose()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["machine"] = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--paced", type=int, default=150, help="subscribers of the paced run (0: skip)")
    parser.add_argument("--concurrency", type=int, default=16, help="sends in flight per worker process")
    parser.add_argument("--workers", type=int, default=1, help="worker processes sharing the outbox")
    parser.add_argument("--worker-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import uvloop  # installed with uvicorn[standard]; the worker's event loop is then C code

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    if args.worker_of is not None:
        runner(worker_process(args.worker_of, args.port, args.concurrency))
        return
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    result = runner(run(args.subscribers, args.paced, args.concurrency, args.workers))
    result["load_average_at_start"] = " ".join(load)
    result["command"] = " ".join(["bench/notifier_bench.py", *sys.argv[1:]])
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
