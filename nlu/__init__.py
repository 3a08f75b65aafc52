"""Text to intent and entities. One training source (nlu/data, Rasa's YAML); two backends."""

from nlu.types import INTENTS, Entity, NluBackend, NluResult

__all__ = ["INTENTS", "Entity", "NluBackend", "NluResult"]
