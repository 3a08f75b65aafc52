from pathlib import Path

import pytest

from core.settings import PACKAGE_ROOT
from core.text import normalize_utterance
from knowledge_base.loader import load_knowledge_base
from nlu.training_data import TrainingData, TrainingDataError, load_training_data, strip_entities
from nlu.types import INTENTS

# What the issue and the Rasa helper rely on: every intent has at least this many examples.
MIN_EXAMPLES = 25
FIVE_INDUSTRIES = {"전기자동차", "첨단소재부품", "지능형기계", "스마트물류", "관광레저"}


def test_every_intent_has_enough_examples(training_data: TrainingData) -> None:
    counts = {intent: len(examples) for intent, examples in training_data.by_intent().items()}
    assert set(counts) == set(INTENTS)
    assert min(counts.values()) >= MIN_EXAMPLES, counts


def test_no_example_is_listed_twice(training_data: TrainingData) -> None:
    texts = [e.text for e in training_data.examples]
    assert len(texts) == len(set(texts))


def test_program_ids_are_the_knowledge_base_ids(training_data: TrainingData) -> None:
    kb = load_knowledge_base()
    programs = set(training_data.entity_dictionary["program"])
    assert programs <= set(kb.programs)
    askable = {p.id for p in kb.programs.values() if p.kind not in ("result_2021", "management")}
    assert askable <= programs, askable - programs


def test_industries_are_the_five_flagship_industries(training_data: TrainingData) -> None:
    assert set(training_data.entity_dictionary["industry"]) == FIVE_INDUSTRIES


def test_a_name_belongs_to_one_value_only(training_data: TrainingData) -> None:
    # Rasa's synonym mapper is global: one text mapping to two values would be ambiguous.
    owner: dict[str, str] = {}
    for value, texts in training_data.synonyms.items():
        for text in texts:
            assert owner.setdefault(text.lower(), value) == value, text


def test_annotated_entities_map_through_the_synonyms(training_data: TrainingData) -> None:
    # Rasa maps an extracted entity's text to its value with the synonym blocks (lower-cased).
    names = {text.lower() for texts in training_data.synonyms.values() for text in texts}
    annotated = [en for e in training_data.examples for en in e.entities]
    assert len(annotated) >= 40
    for entity in annotated:
        assert entity.entity in ("program", "industry")
        assert entity.text.lower() in names, entity


def test_heldout_split_is_deterministic_and_covers_every_intent(training_data: TrainingData) -> None:
    train, heldout = training_data.split()
    again = load_training_data(PACKAGE_ROOT / "nlu" / "data")
    assert [e.text for e in again.split()[1]] == [e.text for e in heldout]
    assert 0.15 <= len(heldout) / len(training_data.examples) <= 0.25
    assert {e.intent for e in heldout} == set(INTENTS)
    assert not {e.text for e in train} & {e.text for e in heldout}


def test_strip_entities_handles_rasa_markup() -> None:
    text, entities = strip_entities(
        '[시험분석비](program) 예산이랑 [스공]{"entity": "program", "value": "smart_factory"}'
    )
    assert text == "시험분석비 예산이랑 스공"
    assert [(e.entity, e.text, e.value) for e in entities] == [
        ("program", "시험분석비", None),
        ("program", "스공", "smart_factory"),
    ]


def test_unknown_intent_is_refused_with_the_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text('version: "3.1"\nnlu:\n- intent: weather\n  examples: |\n    - 날씨\n', encoding="utf-8")
    with pytest.raises(TrainingDataError, match=r"bad\.yml.*weather"):
        load_training_data(tmp_path)


def test_malformed_examples_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text("nlu:\n- intent: greeting\n  examples: [안녕]\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="examples"):
        load_training_data(tmp_path)


def test_every_example_has_words(training_data: TrainingData) -> None:
    # Punctuation-only examples teach nothing (the backend answers such input without a
    # guess) and give Rasa's tokenizers an example without tokens.
    for example in training_data.examples:
        assert normalize_utterance(example.text).strip(" .,?!~"), example
