"""How long the knowledge base takes to load: cold (fresh interpreter), uncached rebuild, cached hit.

Usage: .venv/bin/python bench/kb_load.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COLD = (
    "import time; t = time.perf_counter(); "
    "from knowledge_base.loader import load_knowledge_base; i = time.perf_counter(); "
    "load_knowledge_base(); e = time.perf_counter(); "
    "print(f'{(i - t) * 1000:.1f} {(e - i) * 1000:.1f}')"
)


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples):.3f} ms, p95 {p95:.3f} ms, n={len(samples)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    imports, loads = [], []
    for _ in range(min(args.repeat, 10)):
        out = subprocess.run([sys.executable, "-c", COLD], check=True, capture_output=True, text=True).stdout
        first, second = out.split()
        imports.append(float(first))
        loads.append(float(second))
    print(f"cold import of knowledge_base.loader: {_ms(imports)}")
    print(f"cold first load (parse + validate + cross-check): {_ms(loads)}")

    from knowledge_base import loader

    rebuilds = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        loader._build(loader.DEFAULT_DATA_DIR)
        rebuilds.append((time.perf_counter() - start) * 1000)
    print(f"warm rebuild without cache: {_ms(rebuilds)}")

    loader.load_knowledge_base()
    hits = []
    for _ in range(args.repeat * 50):
        start = time.perf_counter()
        loader.load_knowledge_base()
        hits.append((time.perf_counter() - start) * 1000)
    print(f"cached load (stat of 11 files): {_ms(hits)}")


if __name__ == "__main__":
    main()
