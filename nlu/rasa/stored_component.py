"""What the project's trainable Rasa components share: Rasa creates each with the model
storage and resource it persists its fitted state to, and each needs scikit-learn."""

from __future__ import annotations

from typing import Any, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

# Not typing.Self: Rasa's Python is 3.10, and Rasa resolves `create`'s annotations at run time.
Component = TypeVar("Component", bound="StoredComponent")


class StoredComponent(GraphComponent):
    """Subclasses take `(config, model_storage, resource, name, ...)` in their constructor."""

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @classmethod
    def create(
        cls: type[Component],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Component:
        return cls(config, model_storage, resource, execution_context.node_name)  # type: ignore[call-arg]
