"""The default, in-process NLU: character n-grams into a linear classifier, plus dictionary
entities.

Training (`nlu/embedded_training.py`, scikit-learn) takes about a second; the fitted
model is compiled into plain data — n-gram vocabularies, idf weights and one coefficient
matrix — and cached under `var_dir/nlu/`, keyed by the training data and the feature
version. Serving needs only this module and numpy: no scikit-learn or SciPy import at
start-up, and no per-call input validation, which alone would cost more than the whole
prediction. A message is scored with a few dictionary look-ups and one small matrix
product; tests check the result equals scikit-learn's own computation.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.text import normalize_utterance
from nlu.entities import EntityExtractor
from nlu.training_data import TrainingData
from nlu.types import NluResult

log = logging.getLogger(__name__)

# Bump when features, classifier or the compiled format change: the cache key includes it.
FEATURE_VERSION = "4"
# Program and industry names are replaced by this mark in the second view, so "예산" next
# to any program name teaches the same thing (the name itself says nothing about intent).
ENTITY_MARK = "§"
NGRAM_RANGE = (1, 4)
RANKING_SIZE = 5

_WHITE_SPACES = re.compile(r"\s\s+")


def views(text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, str]:
    """The two strings the classifier sees: the normalised text (n-grams within words), and
    the same with entity names masked and spaces removed (n-grams across words, since people
    write 시험분석비지원사업예산얼마에요 as often as with spaces)."""
    masked = []
    position = 0
    for start, end in spans:
        if start < position:
            continue
        masked.append(text[position:start])
        masked.append(ENTITY_MARK)
        position = end
    masked.append(text[position:])
    return text, "".join(masked).replace(" ", "")


def word_ngrams(text: str, low: int = NGRAM_RANGE[0], high: int = NGRAM_RANGE[1]) -> list[str]:
    """Character n-grams inside space-padded words: scikit-learn's `char_wb` analyzer."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if n >= length:
                grams.append(padded)  # a word shorter than n counts once, whole
                break
            grams.extend(padded[i : i + n] for i in range(length - n + 1))
    return grams


def char_ngrams(text: str, low: int = NGRAM_RANGE[0], high: int = NGRAM_RANGE[1]) -> list[str]:
    """Character n-grams over the whole text: scikit-learn's `char` analyzer."""
    text = _WHITE_SPACES.sub(" ", text)
    length = len(text)
    grams: list[str] = []
    for n in range(low, min(high, length) + 1):
        grams.extend(text[i : i + n] for i in range(length - n + 1))
    return grams


ANALYZERS = (word_ngrams, char_ngrams)  # one per view, in order


@dataclass
class CompiledModel:
    """Everything scoring needs, as plain data. Per view: n-gram -> (column, idf).
    `weights` (features x classes) and `bias` already include the confidence temperature."""

    labels: tuple[str, ...]
    vocabularies: tuple[dict[str, tuple[int, float]], ...]
    weights: np.ndarray
    bias: np.ndarray

    def proba(self, texts: tuple[str, str]) -> np.ndarray:
        """TF-IDF (sublinear tf, l2 per view) times the linear weights, then a softmax."""
        columns: list[int] = []
        values: list[float] = []
        for analyzer, vocabulary, text in zip(ANALYZERS, self.vocabularies, texts, strict=True):
            local: list[tuple[int, float]] = []
            for gram, count in Counter(analyzer(text)).items():
                known = vocabulary.get(gram)
                if known is not None:
                    column, idf = known
                    local.append((column, idf if count == 1 else (1.0 + math.log(count)) * idf))
            norm = math.sqrt(sum(w * w for _, w in local))
            for column, weight in local:
                columns.append(column)
                values.append(weight / norm)
        scores = self.bias + np.dot(values, self.weights[columns]) if columns else self.bias.copy()
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()


def message_views(text: str, extractor: EntityExtractor) -> tuple[str, str]:
    normalized = normalize_utterance(text)
    return views(normalized, [(s, e) for s, e, _ in extractor.find(normalized)])


class EmbeddedNlu:
    """`NluBackend` running in the service's own process."""

    name = "embedded"

    def __init__(self, model: CompiledModel, extractor: EntityExtractor, *, trained: bool = False) -> None:
        self.model = model
        self.extractor = extractor
        self.trained = trained  # True when this instance trained its model instead of loading it

    def parse_sync(self, text: str | None) -> NluResult:
        normalized = normalize_utterance(text)
        if not normalized.strip(" .,?!~"):
            # Nothing to classify (empty, emoji only, punctuation): no guess, no confidence.
            return NluResult(text=normalized, intent="out_of_scope", confidence=0.0, backend=self.name)
        found = self.extractor.find(normalized)
        proba = self.model.proba(views(normalized, [(s, e) for s, e, _ in found])).tolist()
        order = sorted(range(len(proba)), key=proba.__getitem__, reverse=True)[:RANKING_SIZE]
        ranking = tuple((self.model.labels[i], round(proba[i], 4)) for i in order)
        return NluResult(
            text=normalized,
            intent=ranking[0][0],
            confidence=ranking[0][1],
            entities=tuple(entity for _, _, entity in found),
            ranking=ranking,
            backend=self.name,
        )

    async def parse(self, text: str) -> NluResult:
        # CPU-bound and about a tenth of a millisecond: cheaper inline than any hand-off to a thread.
        return self.parse_sync(text)


def cache_key(data: TrainingData) -> str:
    material = f"{data.fingerprint}|{FEATURE_VERSION}|numpy {np.__version__}"
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def model_path(var_dir: Path, data: TrainingData) -> Path:
    return var_dir / "nlu" / f"embedded-{cache_key(data)}.pkl"


def _load(path: Path) -> CompiledModel | None:
    try:
        with path.open("rb") as handle:
            model = pickle.load(handle)  # our own file, written by _save below
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or incompatible file: retrain rather than fail to start
        log.warning("NLU model cache %s unreadable; retraining", path, exc_info=True)
        return None
    if not isinstance(model, CompiledModel):
        log.warning("NLU model cache %s holds no model; retraining", path)
        return None
    return model


def _save(path: Path, model: CompiledModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent start never reads half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, path)


def load_or_train(data: TrainingData, var_dir: Path) -> EmbeddedNlu:
    """The cached model for this training data if there is one; otherwise train and cache it."""
    extractor = EntityExtractor(data.entity_dictionary)
    path = model_path(var_dir, data)
    model = _load(path)
    if model is not None:
        return EmbeddedNlu(model, extractor)
    from nlu.embedded_training import train_intent_model  # scikit-learn: only when training

    started = time.perf_counter()
    model = train_intent_model(data.examples, extractor).compiled
    log.info("trained embedded NLU on %d examples in %.2fs", len(data.examples), time.perf_counter() - started)
    _save(path, model)
    return EmbeddedNlu(model, extractor, trained=True)
