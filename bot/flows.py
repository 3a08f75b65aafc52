"""Multi-turn flows (eligibility questions, the hand-off form) plugged into the dialogue.

A flow is registered once with the names of the intents that start it. The dialogue then:
1. when the user has an active flow (`state.flow`), calls its `step` first; a `None` answer means
   "not mine" (the flow has ended itself or the user changed subject) and normal handling goes on;
2. otherwise, when the message's intent is one of a flow's `triggers`, calls its `start`.
Flows keep their answers in `state.slots` (see `bot.context`) and finish with `state.end_flow()`.
"처음으로"-style exits are handled by the dialogue before any flow sees the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.context import UserState
from bot.reply import Message, Reply
from nlu.types import NluResult

if TYPE_CHECKING:
    from bot.dialogue import Dialogue


@dataclass
class Turn:
    """Everything a flow may look at for one message."""

    message: Message
    nlu: NluResult
    state: UserState
    program_id: str | None  # the program named now or kept in context
    dialogue: Dialogue  # for the KB, the ports, settings and the shared reply helpers
    named: str | None = None  # the program named in this very message (None: from context or none)


class Flow(Protocol):
    name: str
    title: str  # what the user is told was cancelled ("상담 신청")
    triggers: tuple[str, ...]  # intents that start this flow

    async def start(self, turn: Turn) -> Reply: ...

    async def step(self, turn: Turn) -> Reply | None: ...


class FlowRegistry:
    def __init__(self) -> None:
        self._flows: dict[str, Flow] = {}
        self._by_intent: dict[str, Flow] = {}

    def register(self, flow: Flow) -> None:
        """Add a flow; a later flow with the same name or trigger replaces the earlier one."""
        self._flows[flow.name] = flow
        for intent in flow.triggers:
            self._by_intent[intent] = flow

    def get(self, name: str | None) -> Flow | None:
        return self._flows.get(name) if name else None

    def for_intent(self, intent: str) -> Flow | None:
        return self._by_intent.get(intent)

    def names(self) -> list[str]:
        return sorted(self._flows)
