"""A Rasa featurizer of TF-IDF character n-grams over the whole message, for Korean.

Rasa's CountVectorsFeaturizer counts n-grams inside each token and sums them, raw: the
n-grams that span a word boundary ("원 일" in 지원 일정) are lost, a word said twice
weighs twice, and a long message outweighs a short one. Korean questions are short and
spaced at will (시험분석비지원사업예산 / 시험분석비 지원사업 예산), so this featurizer
looks at the message three ways, each TF-IDF weighted with a sublinear term frequency
and L2-normalised:

- `words`: character n-grams inside space-separated words (scikit-learn's `char_wb`);
- `compact`: character n-grams of the message with its spaces removed (`char`), so
  spacing habits do not change the features;
- `lemmas`: the dictionary forms of the tokenizer's tokens (Kiwi morphemes), as words.

Only sentence features are produced: the intent classifier reads those. The fitted
vocabularies and idf weights are stored as JSON in the model, not pickled.
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
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from stored_component import StoredComponent

VIEWS = ("words", "compact", "lemmas")
_FILE = "char_ngram_featurizer.json"


def _vectorizer(view: str, low: int, high: int, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    if view == "lemmas":
        return TfidfVectorizer(token_pattern=r"\S+", lowercase=False, sublinear_tf=True, vocabulary=vocabulary)
    analyzer = "char_wb" if view == "words" else "char"
    return TfidfVectorizer(
        analyzer=analyzer, ngram_range=(low, high), lowercase=False, sublinear_tf=True, vocabulary=vocabulary
    )


def _view_text(view: str, message: Message) -> str:
    text = message.get(TEXT) or ""
    if view == "words":
        return text
    if view == "compact":
        return "".join(text.split())
    return " ".join(token.lemma for token in message.get(TOKENS_NAMES[TEXT], []))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class CharNgramFeaturizer(SparseFeaturizer, StoredComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**SparseFeaturizer.get_default_config(), "views": list(VIEWS), "min_ngram": 1, "max_ngram": 4}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        unknown = [view for view in config["views"] if view not in VIEWS]
        if unknown or not config["views"]:
            raise InvalidConfigException(f"CharNgramFeaturizer views must be some of {VIEWS}, got {config['views']}")
        if not 1 <= config["min_ngram"] <= config["max_ngram"]:
            raise InvalidConfigException("CharNgramFeaturizer needs 1 <= min_ngram <= max_ngram")

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        name: str,
        vectorizers: dict[str, TfidfVectorizer] | None = None,
    ) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._vectorizers = vectorizers or {}

    def train(self, training_data: TrainingData) -> Resource:
        messages = [m for m in training_data.training_examples if m.get(TEXT)]
        low, high = self._config["min_ngram"], self._config["max_ngram"]
        self._vectorizers = {}
        for view in self._config["views"]:
            vectorizer = _vectorizer(view, low, high)
            vectorizer.fit([_view_text(view, m) for m in messages])
            self._vectorizers[view] = vectorizer
        self.persist()
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        texts = [m for m in messages if m.get(TEXT)]
        if not texts or not self._vectorizers:
            return messages
        matrix = scipy.sparse.hstack(
            [v.transform([_view_text(view, m) for m in texts]) for view, v in self._vectorizers.items()],
            format="csr",
        )
        for row, message in enumerate(texts):
            self.add_features_to_message(None, matrix[row], TEXT, message)
        return messages

    def persist(self) -> None:
        stored = {view: {"vocabulary": v.vocabulary_, "idf": v.idf_.tolist()} for view, v in self._vectorizers.items()}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CharNgramFeaturizer:
        config = {**cls.get_default_config(), **config}
        with model_storage.read_from(resource) as directory:
            stored = json.loads((directory / _FILE).read_text(encoding="utf-8"))
        vectorizers = {}
        for view, fitted in stored.items():
            vectorizer = _vectorizer(view, config["min_ngram"], config["max_ngram"], fitted["vocabulary"])
            vectorizer.idf_ = np.asarray(fitted["idf"])
            vectorizers[view] = vectorizer
        return cls(config, model_storage, resource, execution_context.node_name, vectorizers)
