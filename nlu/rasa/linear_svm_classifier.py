"""A Rasa intent classifier: a linear SVM with confidences calibrated on unseen data.

On this project's questions a linear SVM over TF-IDF n-grams scores higher than Rasa's
LogisticRegressionClassifier and DIET (docs/benchmarks.md, "NLU backends"). An SVM gives
scores, not probabilities, and the dialogue compares a confidence with a threshold; so the
scores go through a softmax with one temperature, fitted on cross-validated scores: a
confidence of 0.6 means about 60 % right on messages the SVM did not see.

The fitted weights are stored in the model as numpy arrays (no pickle); serving is one
sparse-dense product per message. This runs in Rasa's Python 3.10 environment, which cannot
import the project's packages: the temperature fit mirrors `nlu/embedded_training.py`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.optimize import minimize_scalar
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC
from stored_component import StoredComponent

_WEIGHTS = "linear_svm.npz"
_LABELS = "linear_svm_labels.json"


def _sentence_features(messages: list[Message]) -> scipy.sparse.csr_matrix:
    rows = []
    for message in messages:
        _, sentence = message.get_sparse_features(TEXT)
        rows.append(scipy.sparse.csr_matrix(sentence.features))
    return scipy.sparse.vstack(rows, format="csr")


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises the log-loss of softmax(scores * temperature)."""

    def loss(temperature: float) -> float:
        # Log-sum-exp rather than log(softmax): a clamped log of an underflowed probability
        # is flat in the temperature, and the bounded search then drifts to its upper end.
        scaled = scores * temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(scaled).sum(axis=1)) - scaled[np.arange(len(truth)), truth]))

    return float(minimize_scalar(loss, bounds=(0.05, 50.0), method="bounded").x)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearSvmIntentClassifier(IntentClassifier, StoredComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 1.0, "calibration_folds": 5, "ranking_length": 10, "random_state": 0}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        name: str,
        labels: list[str] | None = None,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._labels = labels or []
        # (features x classes) and (classes,), both already multiplied by the temperature.
        self._weights = weights
        self._bias = bias

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        matrix = _sentence_features(examples)
        targets = np.asarray([e.get(INTENT) for e in examples])
        svm = LinearSVC(C=self._config["C"], random_state=self._config["random_state"]).fit(matrix, targets)
        # Every intent needs as many examples as folds for stratified calibration.
        folds = min(self._config["calibration_folds"], int(np.unique(targets, return_counts=True)[1].min()))
        temperature = 1.0
        if folds >= 2:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self._config["random_state"])
            unseen = cross_val_predict(
                LinearSVC(C=self._config["C"], random_state=self._config["random_state"]),
                matrix,
                targets,
                cv=splitter,
                method="decision_function",
            )
            temperature = fit_temperature(unseen, np.searchsorted(svm.classes_, targets))
        self._labels = [str(label) for label in svm.classes_]
        self._weights = np.ascontiguousarray(svm.coef_.T * temperature)
        self._bias = svm.intercept_ * temperature
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        texts = [m for m in messages if m.get(TEXT)]
        if not texts or self._weights is None or self._bias is None:
            return messages
        probabilities = _softmax(np.asarray(_sentence_features(texts) @ self._weights) + self._bias)
        for message, row in zip(texts, probabilities, strict=True):
            order = np.argsort(-row)[: self._config["ranking_length"]]
            ranking = [{INTENT_NAME_KEY: self._labels[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / _WEIGHTS, weights=self._weights, bias=self._bias)
            (directory / _LABELS).write_text(json.dumps(self._labels, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearSvmIntentClassifier:
        with model_storage.read_from(resource) as directory:
            arrays = np.load(directory / _WEIGHTS, allow_pickle=False)
            labels = json.loads((directory / _LABELS).read_text(encoding="utf-8"))
            weights, bias = arrays["weights"], arrays["bias"]
        return cls(config, model_storage, resource, execution_context.node_name, labels, weights, bias)
