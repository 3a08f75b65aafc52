"""The two NLU backends side by side (not a test; figures go to docs/benchmarks.md, "NLU backends").

For each backend, on the same data and the same held-out split:
- accuracy, macro-F1 and parse latency (p50/p99) from `nlu.service.evaluate` (the embedded
  model in-process; Rasa over HTTP through the Rasa backend, from a model trained on the
  training split only);
- training time on all of nlu/data (Rasa retrained on purpose, not taken from the cache);
- start time: the embedded model loaded from its cache vs `rasa run` until it answers;
- answers per second through POST /kakao/skill: `gopa serve` with NLU_BACKEND=embedded, then
  with NLU_BACKEND=rasa against a real Rasa server (load generator from bench/kakao_bench.py),
  and how many messages fell back to the embedded backend meanwhile;
- peak memory: the gopa server's RSS, plus the Rasa server's for the Rasa backend.

    .venv/bin/python bench/nlu_backends.py [--requests 1500] [--concurrency 1 8]

Needs `gopa nlu rasa-setup` to have run (the Rasa environment; models are retrained here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from kakao_bench import GOPA, RssSampler, free_port, machine, run_load, wait_first_answer  # noqa: E402

from core.settings import get_settings  # noqa: E402
from nlu.embedded import load_or_train  # noqa: E402
from nlu.rasa_eval import evaluate_rasa, peak_rss_mb, side_by_side  # noqa: E402
from nlu.rasa_setup import RasaEnv, rasa_home, running_server, train_for  # noqa: E402
from nlu.service import evaluate, load_data, train_on_split  # noqa: E402


def serve_and_load(extra_env: dict[str, str], requests: int, levels: list[int]) -> dict[str, object]:
    """`gopa serve` with `extra_env`, driven at each concurrency level; its peak RSS and log."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gopa-nlu-bench-") as var_dir:
        env = {**os.environ, "VAR_DIR": var_dir, "LOG_LEVEL": "WARNING", "ACCESS_LOG": "false", **extra_env}
        log_path = Path(var_dir) / "serve.log"
        with log_path.open("wb") as log:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [str(GOPA), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            sampler = RssSampler(proc.pid)
            sampler.start()
            try:
                cold = wait_first_answer(port, proc, started, timeout=120)
                # Every question made unique: the dialogue caches parses by text, and this measures the parse.
                run_load(port, 200, 4, 1, seed=0, unique_share=1.0)
                runs = [
                    run_load(port, requests, level, 1 if level == 1 else 2, seed=level, unique_share=1.0)
                    for level in levels
                ]
            finally:
                proc.terminate()
                proc.wait(timeout=30)
                sampler.stop.set()
        fallbacks = log_path.read_text(errors="replace").count("Rasa parse failed")
    return {"cold_start_s": cold, "peak_rss_mb": sampler.peak / 2**20, "runs": runs, "fallbacks": fallbacks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500, help="requests per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()

    settings = get_settings()
    data = load_data(settings)
    training, heldout = data.split()
    print(f"machine: {machine()}")
    print(f"data: {len(data.examples)} examples, {len(training)} for training, {len(heldout)} held out")

    # Embedded: train on everything (timed), load from the cache (its start), evaluate on the split.
    with tempfile.TemporaryDirectory() as var_dir:
        started = time.perf_counter()
        load_or_train(data, Path(var_dir))  # an empty cache: this trains
        embedded_train_s = time.perf_counter() - started
        started = time.perf_counter()
        load_or_train(data, Path(var_dir))
        embedded_start_s = time.perf_counter() - started
    embedded_report = asyncio.run(evaluate(train_on_split(data), heldout))

    # Rasa: train on everything (forced, timed), evaluate a split-trained model on its own server.
    env = RasaEnv(rasa_home(settings.rasa_home))
    full_model, rasa_train_s = train_for(env, data, force=True, log=print)
    rasa_eval = evaluate_rasa(settings, data, log=print)

    for line in side_by_side([embedded_report, rasa_eval.report]):
        print(line)
    print("serving: embedded")
    embedded_serve = serve_and_load({"NLU_BACKEND": "embedded"}, args.requests, args.concurrency)
    print("serving: rasa")
    with running_server(env, full_model) as rasa:
        rasa_serve = serve_and_load({"NLU_BACKEND": "rasa", "RASA_URL": rasa.url}, args.requests, args.concurrency)
        rasa_server_rss = peak_rss_mb(rasa.process.pid)
        rasa_start_s = rasa.start_s

    rows = [
        ("training on all data, s", f"{embedded_train_s:.1f}", f"{rasa_train_s or 0:.1f}"),
        ("start (model ready), s", f"{embedded_start_s:.2f}", f"{rasa_start_s:.1f}"),
        ("gopa serve cold start, s", f"{embedded_serve['cold_start_s']:.2f}", f"{rasa_serve['cold_start_s']:.2f}"),
    ]
    for index, level in enumerate(args.concurrency):
        e_run, r_run = embedded_serve["runs"][index], rasa_serve["runs"][index]  # type: ignore[index]
        rate = (f"{e_run['answers_per_s']:.0f}", f"{r_run['answers_per_s']:.0f}")
        rows.append((f"/kakao/skill answers/s, conc {level}", *rate))
        rows.append((f"/kakao/skill p99 ms, conc {level}", f"{e_run['p99_ms']:.1f}", f"{r_run['p99_ms']:.1f}"))
    rows += [
        ("messages that fell back", "-", str(rasa_serve["fallbacks"])),
        ("peak RSS gopa serve, MB", f"{embedded_serve['peak_rss_mb']:.0f}", f"{rasa_serve['peak_rss_mb']:.0f}"),
        ("peak RSS Rasa server, MB", "-", f"{rasa_server_rss:.0f}"),
    ]
    print()
    for name, embedded_value, rasa_value in rows:
        print(f"{name:36s}{embedded_value:>12s}{rasa_value:>12s}")


if __name__ == "__main__":
    main()
