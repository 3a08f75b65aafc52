"""Fitting the embedded intent model with scikit-learn, and compiling it for serving.

A linear SVM over TF-IDF character n-grams of the two views in `nlu.embedded`. Its scores
become probabilities through a softmax with one temperature, fitted on cross-validated
scores so that a confidence of 0.6 means about 60 % right on data the SVM did not see.
Only `gopa nlu train/eval` and a first start with new data import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

from nlu.embedded import NGRAM_RANGE, CompiledModel, message_views
from nlu.entities import EntityExtractor
from nlu.training_data import Example

SVM_C = 1.0
CALIBRATION_FOLDS = 5


def _vectorizers() -> list[TfidfVectorizer]:
    # Same order and analyzers as nlu.embedded.ANALYZERS.
    return [
        TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True, lowercase=False),
        TfidfVectorizer(analyzer="char", ngram_range=NGRAM_RANGE, sublinear_tf=True, lowercase=False),
    ]


def _fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    def loss(temperature: float) -> float:
        scaled = scores * temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[np.arange(len(truth)), truth]))

    return float(minimize_scalar(loss, bounds=(0.05, 50.0), method="bounded").x)


@dataclass
class FittedIntentModel:
    vectorizers: list[TfidfVectorizer]
    classifier: LinearSVC
    temperature: float
    compiled: CompiledModel

    def sklearn_proba(self, texts: tuple[str, str]) -> np.ndarray:
        """The reference computation through scikit-learn, to check the compiled model."""
        matrix = sp.hstack([v.transform([texts[i]]) for i, v in enumerate(self.vectorizers)], format="csr")
        scores = self.classifier.decision_function(matrix)[0] * self.temperature
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()


def fit(texts: Sequence[tuple[str, str]], labels: Sequence[str]) -> FittedIntentModel:
    vectorizers = _vectorizers()
    matrix = sp.hstack(
        [v.fit_transform([views[i] for views in texts]) for i, v in enumerate(vectorizers)], format="csr"
    )
    targets = np.asarray(labels)
    classifier = LinearSVC(C=SVM_C).fit(matrix, targets)
    folds = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=0)
    scores = cross_val_predict(LinearSVC(C=SVM_C), matrix, targets, cv=folds, method="decision_function")
    temperature = _fit_temperature(scores, np.searchsorted(classifier.classes_, targets))

    vocabularies = []
    offset = 0
    for vectorizer in vectorizers:
        idf = vectorizer.idf_.tolist()
        vocabularies.append({gram: (offset + column, idf[column]) for gram, column in vectorizer.vocabulary_.items()})
        offset += len(vectorizer.vocabulary_)
    compiled = CompiledModel(
        labels=tuple(str(c) for c in classifier.classes_),
        vocabularies=tuple(vocabularies),
        # (features x classes), C-contiguous so a message's rows are gathered in one go.
        weights=np.ascontiguousarray(classifier.coef_.T * temperature),
        bias=classifier.intercept_ * temperature,
    )
    return FittedIntentModel(vectorizers, classifier, temperature, compiled)


def train_intent_model(examples: Sequence[Example], extractor: EntityExtractor) -> FittedIntentModel:
    return fit([message_views(e.text, extractor) for e in examples], [e.intent for e in examples])
