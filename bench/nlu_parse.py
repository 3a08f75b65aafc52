"""Embedded NLU: training time, model load time and per-message parse latency.

    .venv/bin/python bench/nlu_parse.py [--rounds 20]

Parses every training example plus a few long and empty ones (normalisation, entities,
intent) `rounds` times after a warm-up and prints wall-clock p50/p95/p99/max and the CPU
time per parse in microseconds; also the time to train on all data and to load the cached
model. Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

from core.settings import PACKAGE_ROOT
from nlu.embedded import load_or_train
from nlu.training_data import load_training_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    data = load_training_data(PACKAGE_ROOT / "nlu" / "data")
    with tempfile.TemporaryDirectory() as var_dir:
        started = time.perf_counter()
        backend = load_or_train(data, Path(var_dir))
        train_s = time.perf_counter() - started
        started = time.perf_counter()
        loaded = load_or_train(data, Path(var_dir))
        load_s = time.perf_counter() - started
    assert backend.trained and not loaded.trained

    texts = [e.text for e in data.examples]
    texts += ["시험분석비 지원사업 예산이 얼마예요? " * 3, "🙂", "스마트공장 " + "ㅋ" * 5000]
    for text in texts:
        loaded.parse_sync(text)
    samples: list[float] = []
    gc.collect()
    cpu_started = time.process_time()
    for _ in range(args.rounds):
        for text in texts:
            started = time.perf_counter_ns()
            loaded.parse_sync(text)
            samples.append((time.perf_counter_ns() - started) / 1000)
    cpu_us = (time.process_time() - cpu_started) * 1e6 / len(samples)
    samples.sort()

    def pct(q: float) -> float:
        return samples[min(len(samples) - 1, int(q / 100 * len(samples)))]

    print(f"machine: {os.cpu_count()} CPUs, {len(data.examples)} training examples")
    print(f"train on all data: {train_s:.2f} s   load cached model: {load_s * 1000:.0f} ms")
    print(
        f"parse ({len(samples)} calls): p50 {pct(50):.0f} us  p95 {pct(95):.0f} us  p99 {pct(99):.0f} us"
        f"  max {samples[-1]:.0f} us  mean {statistics.fmean(samples):.0f} us"
    )
    print(f"CPU time per parse: {cpu_us:.0f} us -> {1e6 / cpu_us:.0f} parses/s per core")


if __name__ == "__main__":
    main()
