"""The Rasa backend measured the same way as the embedded one: trained on the training
split only, served by a real `rasa run`, scored on the held-out split by `nlu.service.evaluate`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from core.clock import FixedClock
from core.settings import Settings
from nlu.entities import EntityExtractor
from nlu.rasa_backend import CircuitBreaker, RasaBackend
from nlu.rasa_setup import RasaEnv, RasaSetupError, rasa_home, running_server, train_for
from nlu.service import EvalReport, evaluate
from nlu.training_data import TrainingData
from nlu.types import NluResult

# Rasa answers in ~10-50 ms; an evaluation waits longer rather than mis-score a slow first call.
EVAL_TIMEOUT_S = 10.0


class _NoFallback:
    """An evaluation must score Rasa itself: a failed parse stops it instead of being hidden."""

    name = "none"

    async def parse(self, text: str) -> NluResult:
        raise RasaSetupError(f"Rasa did not answer during the evaluation (text {text!r})")


@dataclass
class RasaEvaluation:
    report: EvalReport
    train_s: float | None  # None: the model for this split was already in the cache
    start_s: float  # `rasa run` start until /status named the model
    peak_rss_mb: float  # the Rasa server's peak resident memory during the evaluation


def peak_rss_mb(pid: int) -> float:
    """VmHWM, the process's peak resident set, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def evaluate_rasa(
    settings: Settings, data: TrainingData, *, force_train: bool = False, log: Callable[[str], None] = print
) -> RasaEvaluation:
    """Train Rasa on `data`'s training split (cached by its hash), serve it on a free loopback
    port and evaluate it on the held-out split."""
    env = RasaEnv(rasa_home(settings.rasa_home))
    if not env.rasa.exists():
        raise RasaSetupError(f"no Rasa environment in {env.venv}: run `gopa nlu rasa-setup` first")
    _, heldout = data.split()
    model, train_s = train_for(env, data, split=True, force=force_train, log=log)
    with running_server(env, model) as server:
        log(f"Rasa serving the training-split model at {server.url} (started in {server.start_s:.1f} s)")

        async def run() -> EvalReport:
            async with httpx.AsyncClient() as client:
                backend = RasaBackend(
                    client,
                    _NoFallback(),
                    # Never opens: the first failure already stops the evaluation.
                    CircuitBreaker(1_000_000, 0, FixedClock(datetime.now(UTC))),
                    base_url=server.url,
                    timeout_s=EVAL_TIMEOUT_S,
                    entities=EntityExtractor(data.entity_dictionary),
                )
                return await evaluate(backend, heldout)

        report = asyncio.run(run())
        peak = peak_rss_mb(server.process.pid)
    return RasaEvaluation(report=report, train_s=train_s, start_s=server.start_s, peak_rss_mb=peak)


def side_by_side(reports: list[EvalReport]) -> list[str]:
    """The backends' figures in columns, one row per figure and per intent (F1)."""
    width = 12
    head = f"{'':22s}" + "".join(f"{r.backend:>{width}s}" for r in reports)
    rows = [
        ("accuracy", [f"{r.accuracy:.3f}" for r in reports]),
        ("macro-F1", [f"{r.macro_f1:.3f}" for r in reports]),
        ("parse p50 ms", [f"{r.latency_ms['p50']:.2f}" for r in reports]),
        ("parse p99 ms", [f"{r.latency_ms['p99']:.2f}" for r in reports]),
    ]
    intents = sorted({s.intent for r in reports for s in r.per_intent})
    for intent in intents:
        cells = []
        for report in reports:
            score = next((s for s in report.per_intent if s.intent == intent), None)
            cells.append(f"{score.f1:.2f}" if score else "-")
        rows.append((f"F1 {intent}", cells))
    return [head, *(f"{name:22s}" + "".join(f"{c:>{width}s}" for c in cells) for name, cells in rows)]
