"""Benchmark of the Kakao skill endpoint over loopback (not a test; figures go to docs/benchmarks.md).

Starts `gopa serve` as a subprocess on a free 127.0.0.1 port with a throw-away var dir, measures
cold start (process start to the first answered question), then drives POST /kakao/skill with a
realistic mix of questions (many users, follow-ups that use context, typos, out-of-scope) at
concurrency 1 and 32, and prints p50/p95/p99 latency, answers per second and the server's peak
RSS (process and children, sampled every 20 ms).

The load generator is a minimal keep-alive HTTP/1.1 client on asyncio streams, run in worker
processes, so the client spends as little of the shared CPU as possible.

    .venv/bin/python bench/kakao_bench.py [--requests 6000] [--concurrency 1 32] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
GOPA = ROOT / ".venv" / "bin" / "gopa"

# What companies ask, in the ways they write it; None marks a follow-up that relies on context.
QUESTIONS = [
    "시험분석비 지원사업 예산이 얼마예요?",
    "시험분석비지원사업 알려줘",
    "예산은?",
    "언제 신청해요?",
    "스마트공장 구축 지원사업 예산",
    "스마트팩토리 지원 대상이 누구예요",
    "콤프레샤 교체 지원 언제 접수해요",
    "컴프레서 교체 얼마까지 지원돼요",
    "전기차 부품 지원사업 뭐 지원해줘요",
    "인증획득 지원사업 알려주세요",
    "노후생산시설 현대화 지원사업 몇개사 지원해요?",
    "5대 대표산업 혁신 지원사업 일정",
    "지원사업 뭐 있어요",
    "신청 절차가 어떻게 돼요",
    "지원 비율이 몇 퍼센트예요",
    "지원금은 언제 줘요",
    "담당자 전화번호 알려줘",
    "진흥원 어디 있어요",
    "김포산업진흥원 소개해줘",
    "김포시 5대 대표산업 현황",
    "알림 신청하고 싶어요",
    "상담원 연결해 주세요",
    "안녕하세요",
    "고맙습니다",
    "오늘 점심 뭐 먹지",
    "시험분석비 예산얼마에여",
    "화상회의실 예약 어떻게 해요",
    "GOPA 500이 뭐예요",
    "현장데스크 운영 시간",
    "소공인복합지원센터 위치",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payload(utterance: str, user: str) -> bytes:
    body = {
        "intent": {"id": "fallback", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"surface": "Kakaotalk.plusfriend"},
            "block": {"id": "fallback", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {"id": user, "type": "botUserKey", "properties": {"plusfriendUserKey": "pf" + user}},
        },
        "bot": {"id": "bench", "name": "bench"},
        "action": {"id": "a", "name": "skill", "params": {}, "detailParams": {}, "clientExtra": None},
    }
    return json.dumps(body, ensure_ascii=False).encode()


def request_bytes(port: int, body: bytes) -> bytes:
    head = (
        f"POST /kakao/skill HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _drive(port: int, requests: list[bytes], concurrency: int) -> tuple[list[float], int, float]:
    queue = list(reversed(requests))
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            raw = queue.pop()
            start = time.perf_counter()
            status = await _exchange(reader, writer, raw)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors += 1
        writer.close()

    begin = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - begin


def _worker(port: int, requests: list[bytes], concurrency: int, start_at: float, out: mp.Queue) -> None:
    while time.time() < start_at:
        time.sleep(0.001)
    out.put(asyncio.run(_drive(port, requests, concurrency)))


def build_requests(port: int, count: int, users: int, seed: int, unique_share: float) -> list[bytes]:
    """Questions from the mix; `unique_share` of them made unique (a number appended), so the
    server's parse cache misses them as it would on questions nobody asked before."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        question = rng.choice(QUESTIONS)
        if rng.random() < unique_share:
            question = f"{question} {seed}{n}"
        out.append(request_bytes(port, payload(question, f"user-{rng.randrange(users)}")))
    return out


def run_load(port: int, count: int, concurrency: int, workers: int, seed: int, unique_share: float) -> dict[str, float]:
    """Split the connections over `workers` client processes that start together."""
    workers = max(1, min(workers, concurrency))
    requests = build_requests(port, count, users=2000, seed=seed, unique_share=unique_share)
    share = [requests[i::workers] for i in range(workers)]
    conns = [concurrency // workers + (1 if i < concurrency % workers else 0) for i in range(workers)]
    out: mp.Queue = mp.Queue()
    start_at = time.time() + 0.5
    procs = [mp.Process(target=_worker, args=(port, share[i], conns[i], start_at, out)) for i in range(workers)]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    latencies = sorted(lat for lats, _, _ in results for lat in lats)
    errors = sum(e for _, e, _ in results)
    wall = max(w for _, _, w in results)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": statistics.fmean(latencies) * 1000,
        "answers_per_s": len(latencies) / wall,
    }


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.02)


def wait_first_answer(port: int, proc: subprocess.Popen, started: float, timeout: float = 60) -> float:
    raw = request_bytes(port, payload("시험분석비 지원사업 예산이 얼마예요?", "cold-start"))
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"gopa serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(raw)
                data = sock.recv(65536)
                if data.startswith(b"HTTP/1.1 200"):
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.005)
    raise SystemExit("no answer within the time-out")


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs ({cpu}), {ram:.1f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000, help="requests per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--workers", type=int, default=2, help="client processes for concurrency > 1")
    parser.add_argument("--server-workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--unique-share", type=float, default=0.2, help="share of never-seen questions")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    port = free_port()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="gopa-bench-") as var_dir:
        env = {**os.environ, "VAR_DIR": var_dir, "LOG_LEVEL": "WARNING", "ACCESS_LOG": "false"}
        command = [str(GOPA), "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(args.server_workers)]
        # First start ever: the embedded NLU trains and caches its model under VAR_DIR.
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=ROOT)
        try:
            first_start = wait_first_answer(port, proc, started)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        # A restart (the usual case): the cached model is loaded.
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=ROOT)
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            cold = wait_first_answer(port, proc, started)
            cpu = psutil.Process(proc.pid).cpu_times()
            cold_cpu = cpu.user + cpu.system
            run_load(port, 300, 8, 1, seed=0, unique_share=args.unique_share)  # warm-up: caches, connections
            results = []
            for concurrency in args.concurrency:
                count = args.requests if concurrency > 1 else max(1000, args.requests // 4)
                workers = 1 if concurrency == 1 else args.workers
                results.append(run_load(port, count, concurrency, workers, concurrency, args.unique_share))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            sampler.stop.set()

    print(f"machine: {machine()}")
    print(f"first start (NLU model trained and cached): {first_start:.2f} s")
    print(f"cold start (process start to first answer, cached model): {cold:.2f} s, {cold_cpu:.2f} s of CPU")
    print(f"load average before / after: {load_before} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"questions: {len(QUESTIONS)} phrasings, {args.unique_share:.0%} of requests made unique")
    print(f"peak RSS (server and children): {sampler.peak / 2**20:.0f} MB")
    print(f"{'conc':>4} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'answers/s':>9}")
    for r in results:
        print(
            f"{r['concurrency']:>4} {r['requests']:>8} {r['errors']:>6} {r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} "
            f"{r['p99_ms']:>7.2f} {r['answers_per_s']:>9.0f}"
        )
    if args.json:
        summary = {
            "first_start_s": first_start,
            "cold_start_s": cold,
            "cold_start_cpu_s": cold_cpu,
            "peak_rss_mb": sampler.peak / 2**20,
        }
        print(json.dumps({**summary, "runs": results}))
    if any(r["errors"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
