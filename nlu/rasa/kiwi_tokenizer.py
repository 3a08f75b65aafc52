"""A Rasa tokenizer for Korean built on Kiwi's morpheme analyser.

Rasa's WhitespaceTokenizer drops every token its emoji pattern fully matches, and that
pattern's range U+24C2..U+1F251 covers all Hangul syllables: a Korean sentence comes out
as one token, the whole text. Kiwi splits words into morphemes instead ("접수기간이" ->
접수 / 기간 / 이), so particles and spacing habits stop hiding the words that matter.

Runs inside Rasa's Python 3.10 environment: `gopa nlu rasa-setup` installs kiwipiepy there
and puts this directory on PYTHONPATH for training and serving.
"""

from __future__ import annotations

from typing import Any

from kiwipiepy import Kiwi
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class KiwiTokenizer(Tokenizer):
    """Tokens are Kiwi morphemes: `text` is the surface span (for character n-grams),
    `lemma` the morpheme's dictionary form (for word features)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["kiwipiepy"]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._kiwi = Kiwi()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KiwiTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text: str | None = message.get(attribute)
        if not text:
            return []
        tokens = [
            Token(text[t.start : t.end], t.start, end=t.end, lemma=t.form, data={"pos": t.tag})
            for t in self._kiwi.tokenize(text)
            if t.end > t.start
        ]
        return self._apply_token_pattern(tokens) or [Token(text, 0)]
