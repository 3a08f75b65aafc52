"""Loads the Rasa 3.x NLU YAML under `nlu/data/`: the one source every backend trains on.

Intent examples lose their Rasa entity markup here; `synonym:` blocks become the entity
dictionary (program ids, industry names); `lookup:` blocks are kept by name. The held-out
split is decided by a hash of each example, so it is the same on every machine and run.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from nlu.types import INTENTS

# [text](entity), [text](entity:value) and [text]{"entity": ..., "value": ...}: Rasa's markup.
_ENTITY_MARKUP = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|\{(?P<attrs>[^}]*)\})")
_ENTITY_ATTR = re.compile(r'"(?P<key>entity|value)"\s*:\s*"(?P<val>[^"]*)"')

# Synonym values listed in this lookup are industries; every other synonym value is a program id.
INDUSTRY_LOOKUP = "industry"
HELDOUT_PERCENT = 20
# LibYAML's safe loader when PyYAML was built with it: several times faster at start-up.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TrainingDataError(ValueError):
    """The YAML is not the Rasa NLU format we rely on; the message names the file."""


@dataclass(frozen=True)
class AnnotatedEntity:
    entity: str
    text: str
    value: str | None = None


@dataclass(frozen=True)
class Example:
    text: str  # without entity markup
    intent: str
    entities: tuple[AnnotatedEntity, ...] = ()

    @property
    def heldout(self) -> bool:
        """In the held-out 20 %: decided by the example itself, not by its position."""
        digest = hashlib.sha1(f"{self.intent}\x00{self.text}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100 < HELDOUT_PERCENT


@dataclass(frozen=True)
class TrainingData:
    examples: tuple[Example, ...]
    synonyms: dict[str, tuple[str, ...]]  # value -> the texts that name it
    lookups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fingerprint: str = ""  # sha256 of the source files, for the model cache

    def by_intent(self) -> dict[str, list[Example]]:
        grouped: dict[str, list[Example]] = defaultdict(list)
        for example in self.examples:
            grouped[example.intent].append(example)
        return dict(grouped)

    def split(self) -> tuple[list[Example], list[Example]]:
        """(training, held-out) for evaluation."""
        train = [e for e in self.examples if not e.heldout]
        heldout = [e for e in self.examples if e.heldout]
        return train, heldout

    @cached_property
    def entity_dictionary(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """entity type -> value -> names. An industry's own name also names it."""
        industries = set(self.lookups.get(INDUSTRY_LOOKUP, ()))
        result: dict[str, dict[str, tuple[str, ...]]] = {"program": {}, "industry": {}}
        for value, texts in self.synonyms.items():
            if value in industries:
                result["industry"][value] = (value, *texts)
            else:
                result["program"][value] = texts
        for industry in industries - set(self.synonyms):
            result["industry"][industry] = (industry,)
        return result


def strip_entities(text: str) -> tuple[str, tuple[AnnotatedEntity, ...]]:
    """The plain text of a Rasa example and the entities annotated in it."""
    entities: list[AnnotatedEntity] = []

    def replace(match: re.Match[str]) -> str:
        surface = match["text"]
        if match["entity"] is not None:
            name, _, value = match["entity"].partition(":")
            entities.append(AnnotatedEntity(name.strip(), surface, value.strip() or None))
        else:
            attrs = {m["key"]: m["val"] for m in _ENTITY_ATTR.finditer(match["attrs"] or "")}
            entities.append(AnnotatedEntity(attrs.get("entity", ""), surface, attrs.get("value")))
        return surface

    return _ENTITY_MARKUP.sub(replace, text), tuple(entities)


def _block_items(block: object, source: Path, what: str) -> list[str]:
    if not isinstance(block, str):
        raise TrainingDataError(f"{source}: {what}: 'examples' must be a '|' block of '- ' lines")
    items = []
    for line in block.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("- "):
            raise TrainingDataError(f"{source}: {what}: example line must start with '- ': {line!r}")
        items.append(line[2:].strip())
    return items


def load_training_data(data_dir: Path) -> TrainingData:
    files = sorted(data_dir.glob("*.yml"))
    if not files:
        raise TrainingDataError(f"{data_dir}: no *.yml training data")
    digest = hashlib.sha256()
    examples: list[Example] = []
    synonyms: dict[str, list[str]] = defaultdict(list)
    lookups: dict[str, list[str]] = defaultdict(list)
    for path in files:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\x00" + raw)
        try:
            document = yaml.load(raw, Loader=_YAML_LOADER)
        except yaml.YAMLError as exc:
            raise TrainingDataError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
            raise TrainingDataError(f"{path}: expected a mapping with an 'nlu:' list")
        for item in document["nlu"]:
            if not isinstance(item, dict):
                raise TrainingDataError(f"{path}: every 'nlu:' entry must be a mapping")
            if "intent" in item:
                intent = str(item["intent"])
                if intent not in INTENTS:
                    raise TrainingDataError(f"{path}: unknown intent {intent!r} (see nlu/types.py INTENTS)")
                for line in _block_items(item.get("examples"), path, f"intent {intent}"):
                    text, entities = strip_entities(line)
                    examples.append(Example(text, intent, entities))
            elif "synonym" in item:
                value = str(item["synonym"])
                synonyms[value].extend(_block_items(item.get("examples"), path, f"synonym {value}"))
            elif "lookup" in item:
                name = str(item["lookup"])
                lookups[name].extend(_block_items(item.get("examples"), path, f"lookup {name}"))
            else:
                raise TrainingDataError(f"{path}: entry without intent/synonym/lookup: {sorted(item)}")
    return TrainingData(
        examples=tuple(examples),
        synonyms={value: tuple(texts) for value, texts in synonyms.items()},
        lookups={name: tuple(items) for name, items in lookups.items()},
        fingerprint=digest.hexdigest(),
    )
