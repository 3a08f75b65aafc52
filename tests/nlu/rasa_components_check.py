"""Runs inside Rasa's Python 3.10 environment (tests/nlu/test_rasa_components.py starts it with
nlu/rasa on PYTHONPATH): trains the project's custom Rasa components on a small data set through
Rasa's own component API, stores and reloads them, and prints what the test checks as JSON."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from char_ngram_featurizer import CharNgramFeaturizer
from kiwi_tokenizer import KiwiTokenizer
from linear_svm_classifier import LinearSvmIntentClassifier, fit_temperature
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

EXAMPLES = {
    "program_budget": ["xentity 예산 얼마예요", "예산은?", "총 사업비 얼마", "xentity 예산 규모", "지원 금액 얼마"],
    "program_schedule": ["xentity 접수 기간", "언제 신청해요", "마감 언제예요", "xentity 일정 알려줘", "접수 언제"],
    "greeting": ["안녕하세요", "안녕", "반가워요", "하이", "안녕하십니까"],
}


def messages(texts: list[str]) -> list[Message]:
    return [Message(data={TEXT: text}) for text in texts]


def main(home: Path) -> dict[str, object]:
    storage = LocalModelStorage(home)
    tokenizer = KiwiTokenizer(KiwiTokenizer.get_default_config())
    featurizer_config = CharNgramFeaturizer.get_default_config()
    classifier_config = LinearSvmIntentClassifier.get_default_config()
    featurizer_resource, classifier_resource = Resource("featurizer"), Resource("classifier")
    context = ExecutionContext(GraphSchema({}), node_name="node")

    training = TrainingData(
        [Message(data={TEXT: text, "intent": intent}) for intent, texts in EXAMPLES.items() for text in texts]
    )
    tokenizer.process_training_data(training)
    featurizer = CharNgramFeaturizer.create(featurizer_config, storage, featurizer_resource, context)
    featurizer.train(training)
    featurizer.process_training_data(training)
    classifier = LinearSvmIntentClassifier.create(classifier_config, storage, classifier_resource, context)
    classifier.train(training)

    questions = ["xentity 예산이 얼마에요", "신청 언제까지 해요", "안녕하세요 반갑습니다", "xentity예산얼마예요"]

    def parse(featurizer: CharNgramFeaturizer, classifier: LinearSvmIntentClassifier) -> list[dict[str, object]]:
        asked = messages(questions)
        tokenizer.process(asked)
        featurizer.process(asked)
        classifier.process(asked)
        return [{"intent": m.get("intent"), "ranking": m.get("intent_ranking")} for m in asked]

    def sentence(text: str) -> list[float]:
        (message,) = messages([text])
        tokenizer.process([message])
        featurizer.process([message])
        return message.get_sparse_features(TEXT)[1].features.toarray()[0].tolist()

    fresh = parse(featurizer, classifier)
    reloaded = parse(
        CharNgramFeaturizer.load(featurizer_config, storage, featurizer_resource, context),
        LinearSvmIntentClassifier.load(classifier_config, storage, classifier_resource, context),
    )

    # Scores of two classes where class 0 is right 3 times in 4: the fitted temperature must
    # bring the confidence of a +1 margin close to 0.75, whatever the scores' scale.
    margins = np.array([[1.0, -1.0]] * 4)
    truth = np.array([0, 0, 0, 1])
    temperature = fit_temperature(margins * 10, truth)
    calibrated = float(1 / (1 + np.exp(-20 * temperature)))

    spaced, compact = sentence("시험분석비 지원사업 예산"), sentence("시험분석비지원사업예산")
    shared = sum(1 for a, b in zip(spaced, compact, strict=True) if a and b)
    return {
        "fresh": fresh,
        "reloaded": reloaded,
        "stored_files": sorted(p.name for p in home.rglob("*") if p.is_file()),
        "calibrated_confidence": calibrated,
        "features_shared_by_spacings": shared,
        "features_of_spaced": sum(1 for a in spaced if a),
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        json.dump(main(Path(scratch)), sys.stdout, ensure_ascii=False)
