"""Program facts from the agency's plan: YAML data, schema, loader and look-ups. No database."""

from knowledge_base.loader import KnowledgeBaseError, load_knowledge_base, load_yaml_model, load_yaml_models
from knowledge_base.schema import Program, Source
from knowledge_base.store import KnowledgeBase

__all__ = [
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Program",
    "Source",
    "load_knowledge_base",
    "load_yaml_model",
    "load_yaml_models",
]
