"""Program facts from the agency's plan: YAML data, schema, loader and look-ups. No database."""

from knowledge_base.schema import Program, Source
from knowledge_base.store import KnowledgeBase

__all__ = ["KnowledgeBase", "Program", "Source"]
