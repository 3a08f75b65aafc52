"""The default, in-process NLU: character n-grams into a linear classifier, plus dictionary
entities.

Training uses scikit-learn (seconds on the whole data set) and the fitted model is cached
under `var_dir/nlu/`, keyed by the training data and this module's feature version, so a
restart loads it instead of training. Parsing does not go through scikit-learn's per-call
input validation, which alone costs more than the whole prediction: the fitted vocabulary,
idf weights and coefficients are read once into plain dicts and arrays, and a message is
scored with a handful of dictionary look-ups and one small matrix product (a test checks
it agrees with scikit-learn's own `predict_proba`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

from core.text import normalize_utterance
from nlu.entities import EntityExtractor
from nlu.training_data import Example, TrainingData
from nlu.types import NluResult

log = logging.getLogger(__name__)

# Bump when features or classifier change: the cache key includes it.
FEATURE_VERSION = "2"
# Program and industry names are replaced by this mark for the intent features, so "예산"
# next to any program name teaches the same thing (the name itself says nothing about intent).
ENTITY_MARK = "§"
RANKING_SIZE = 5
SVM_C = 0.5
CALIBRATION_FOLDS = 5


def _views(text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, str]:
    """The two strings the classifier sees: the normalised text, and the same with entity
    names masked and spaces removed (people write 시험분석비지원사업예산얼마에요 as often
    as with spaces)."""
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


def _vectorizers() -> list[TfidfVectorizer]:
    return [
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, lowercase=False),
        TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True, lowercase=False),
    ]


@dataclass
class _FastView:
    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int


class IntentModel:
    """A fitted intent classifier over the views above: a linear SVM, whose scores become
    probabilities through a softmax with a temperature fitted on cross-validated scores
    (so a confidence of 0.6 is right about 60 % of the time on data the SVM did not see)."""

    def __init__(self, vectorizers: list[TfidfVectorizer], classifier: LinearSVC, temperature: float) -> None:
        self.vectorizers = vectorizers
        self.classifier = classifier
        self.temperature = temperature
        self.labels: tuple[str, ...] = tuple(str(c) for c in classifier.classes_)
        self._views: list[_FastView] = []
        offset = 0
        for vectorizer in vectorizers:
            self._views.append(
                _FastView(vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), vectorizer.idf_, offset)
            )
            offset += len(vectorizer.vocabulary_)
        # (features x classes), C-contiguous so a message's rows are gathered in one go; the
        # temperature is folded in.
        self._weights = np.ascontiguousarray(classifier.coef_.T * temperature)
        self._bias = classifier.intercept_ * temperature

    @classmethod
    def fit(cls, texts: Sequence[tuple[str, str]], labels: Sequence[str]) -> IntentModel:
        vectorizers = _vectorizers()
        matrix = sp.hstack(
            [v.fit_transform([views[i] for views in texts]) for i, v in enumerate(vectorizers)], format="csr"
        )
        targets = np.asarray(labels)
        classifier = LinearSVC(C=SVM_C).fit(matrix, targets)
        folds = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=0)
        scores = cross_val_predict(LinearSVC(C=SVM_C), matrix, targets, cv=folds, method="decision_function")
        truth = np.searchsorted(classifier.classes_, targets)

        def loss(temperature: float) -> float:
            scaled = scores * temperature
            scaled -= scaled.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(scaled).sum(axis=1))
            return float(np.mean(log_norm - scaled[np.arange(len(truth)), truth]))

        temperature = float(minimize_scalar(loss, bounds=(0.05, 50.0), method="bounded").x)
        return cls(vectorizers, classifier, temperature)

    def sklearn_proba(self, views: tuple[str, str]) -> np.ndarray:
        """The reference computation, through scikit-learn (used by tests, not by parse)."""
        matrix = sp.hstack([v.transform([views[i]]) for i, v in enumerate(self.vectorizers)], format="csr")
        scores = self.classifier.decision_function(matrix)[0] * self.temperature
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()

    def proba(self, views: tuple[str, str]) -> np.ndarray:
        indexes: list[int] = []
        values: list[float] = []
        for view, text in zip(self._views, views, strict=True):
            counts = Counter(view.analyzer(text))
            local_idx: list[int] = []
            local_val: list[float] = []
            for gram, count in counts.items():
                column = view.vocabulary.get(gram)
                if column is not None:
                    local_idx.append(column)
                    local_val.append((1.0 + math.log(count)) * view.idf[column])
            norm = math.sqrt(sum(v * v for v in local_val))
            if norm:
                indexes.extend(view.offset + i for i in local_idx)
                values.extend(v / norm for v in local_val)
        scores = self._bias.copy()
        if indexes:
            scores += np.asarray(values) @ self._weights[indexes]
        scores -= scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()


def _training_pairs(data: Sequence[Example], extractor: EntityExtractor) -> tuple[list[tuple[str, str]], list[str]]:
    texts = []
    for example in data:
        normalized = normalize_utterance(example.text)
        texts.append(_views(normalized, [(s, e) for s, e, _ in extractor.find(normalized)]))
    return texts, [example.intent for example in data]


def train_intent_model(examples: Sequence[Example], extractor: EntityExtractor) -> IntentModel:
    texts, labels = _training_pairs(examples, extractor)
    return IntentModel.fit(texts, labels)


class EmbeddedNlu:
    """`NluBackend` running in the service's own process."""

    name = "embedded"

    def __init__(self, model: IntentModel, extractor: EntityExtractor, *, trained: bool = False) -> None:
        self.model = model
        self.extractor = extractor
        self.trained = trained  # True when this instance trained its model instead of loading it

    def parse_sync(self, text: str | None) -> NluResult:
        normalized = normalize_utterance(text)
        if not normalized.strip(" .,?!~"):
            # Nothing to classify (empty, emoji only, punctuation): no guess, no confidence.
            return NluResult(text=normalized, intent="out_of_scope", confidence=0.0, backend=self.name)
        found = self.extractor.find(normalized)
        proba = self.model.proba(_views(normalized, [(s, e) for s, e, _ in found]))
        order = np.argsort(proba)[::-1][:RANKING_SIZE]
        ranking = tuple((self.model.labels[i], round(float(proba[i]), 4)) for i in order)
        return NluResult(
            text=normalized,
            intent=ranking[0][0],
            confidence=ranking[0][1],
            entities=tuple(entity for _, _, entity in found),
            ranking=ranking,
            backend=self.name,
        )

    async def parse(self, text: str) -> NluResult:
        # CPU-bound and a few tens of microseconds: cheaper inline than any hand-off to a thread.
        return self.parse_sync(text)


def cache_key(data: TrainingData) -> str:
    material = f"{data.fingerprint}|{FEATURE_VERSION}|sklearn {sklearn.__version__}|numpy {np.__version__}"
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def model_path(var_dir: Path, data: TrainingData) -> Path:
    return var_dir / "nlu" / f"embedded-{cache_key(data)}.pkl"


def load_or_train(data: TrainingData, var_dir: Path) -> EmbeddedNlu:
    """The cached model for this training data if there is one; otherwise train and cache it."""
    extractor = EntityExtractor(data.entity_dictionary)
    path = model_path(var_dir, data)
    if path.exists():
        try:
            with path.open("rb") as handle:
                vectorizers, classifier, temperature = pickle.load(handle)  # our own file, written below
            return EmbeddedNlu(IntentModel(vectorizers, classifier, temperature), extractor)
        except Exception:  # a truncated or incompatible file: retrain rather than fail to start
            log.warning("NLU model cache %s unreadable; retraining", path, exc_info=True)
    started = time.perf_counter()
    model = train_intent_model(data.examples, extractor)
    log.info("trained embedded NLU on %d examples in %.2fs", len(data.examples), time.perf_counter() - started)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent start never reads half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as handle:
        pickle.dump((model.vectorizers, model.classifier, model.temperature), handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, path)
    return EmbeddedNlu(model, extractor, trained=True)
