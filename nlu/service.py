"""Building the configured NLU backend, training it, and measuring it on held-out examples."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.settings import Settings
from nlu.embedded import EmbeddedNlu, load_or_train
from nlu.entities import EntityExtractor
from nlu.training_data import Example, TrainingData, load_training_data
from nlu.types import INTENTS, NluBackend

logger = logging.getLogger(__name__)


def load_data(settings: Settings) -> TrainingData:
    return load_training_data(settings.nlu_data_dir)


def build_embedded(settings: Settings) -> EmbeddedNlu:
    """The embedded backend, from the model cache when the training data has not changed."""
    return load_or_train(load_data(settings), settings.var_dir)


def build_backend(settings: Settings) -> NluBackend:
    """The backend `settings.nlu_backend` names."""
    if settings.nlu_backend == "rasa":
        from nlu.rasa_backend import build_rasa_backend

        logger.info(
            "NLU: Rasa at %s (time-out %g s); the embedded backend answers what Rasa cannot "
            "(%d failures in a row: Rasa left alone for %g s)",
            settings.rasa_url,
            settings.rasa_timeout_s,
            settings.rasa_breaker_failures,
            settings.rasa_breaker_reset_s,
        )
        return build_rasa_backend(settings, build_embedded(settings))
    logger.info("NLU: embedded backend")
    return build_embedded(settings)


def train(settings: Settings) -> EmbeddedNlu:
    """Train (or load from cache) the embedded model for the current data."""
    return build_embedded(settings)


def train_on_split(data: TrainingData) -> EmbeddedNlu:
    """An embedded backend trained on the training part only, for honest evaluation."""
    from nlu.embedded_training import train_intent_model

    training, _ = data.split()
    extractor = EntityExtractor(data.entity_dictionary)
    return EmbeddedNlu(train_intent_model(training, extractor).compiled, extractor, trained=True)


@dataclass
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    backend: str
    total: int
    accuracy: float
    macro_f1: float
    per_intent: list[IntentScore]
    confusions: list[tuple[str, str, int]]  # (expected, predicted, count), most frequent first
    errors: list[tuple[str, str, str, float]]  # (text, expected, predicted, confidence)
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50, p99, mean

    def weakest(self, n: int = 5) -> list[IntentScore]:
        return sorted(self.per_intent, key=lambda s: (s.f1, s.intent))[:n]


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


async def evaluate(backend: NluBackend, examples: Sequence[Example], *, latency_rounds: int = 5) -> EvalReport:
    """Accuracy, macro-F1 over the intents present, per-intent scores, confusions and parse
    latency of any backend on the given (held-out) examples."""
    predicted: list[str] = []
    errors: list[tuple[str, str, str, float]] = []
    for example in examples:
        result = await backend.parse(example.text)
        predicted.append(result.intent)
        if result.intent != example.intent:
            errors.append((example.text, example.intent, result.intent, result.confidence))
    expected = [e.intent for e in examples]
    per_intent = []
    for intent in INTENTS:
        true_pos = sum(1 for e, p in zip(expected, predicted, strict=True) if e == p == intent)
        n_pred = predicted.count(intent)
        n_true = expected.count(intent)
        if not n_true and not n_pred:
            continue
        precision = true_pos / n_pred if n_pred else 0.0
        recall = true_pos / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent.append(IntentScore(intent, precision, recall, f1, n_true))
    confusions = Counter((e, p) for e, p in zip(expected, predicted, strict=True) if e != p)
    latencies: list[float] = []
    for _ in range(latency_rounds):
        for example in examples:
            started = time.perf_counter()
            await backend.parse(example.text)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    total = len(examples)
    return EvalReport(
        backend=backend.name,
        total=total,
        accuracy=sum(1 for e, p in zip(expected, predicted, strict=True) if e == p) / total if total else 0.0,
        macro_f1=sum(s.f1 for s in per_intent) / len(per_intent) if per_intent else 0.0,
        per_intent=per_intent,
        confusions=[(e, p, n) for (e, p), n in confusions.most_common()],
        errors=errors,
        latency_ms={
            "p50": _percentile(latencies, 50),
            "p99": _percentile(latencies, 99),
            "mean": sum(latencies) / len(latencies) if latencies else 0.0,
        },
    )
