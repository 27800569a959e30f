"""The console follows the change feed so every screen stays live.

Changes made anywhere (this console, another agent's console, the headless
worker, `switchboard sandbox reply`) are event rows. The app polls for new
ones a few times a second and publishes them as one batch on a Signal; the
panes that care subscribe and refresh only what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True, slots=True)
class Changes:
    events: Sequence[Event]

    def kinds(self) -> set[str]:
        return {e.kind for e in self.events}

    def touches_conversation(self, conversation_id: int) -> bool:
        return any(
            (e.entity == "conversation" and e.entity_id == conversation_id)
            or e.data.get("conversation_id") == conversation_id
            for e in self.events
        )

    def about(self, *prefixes: str) -> bool:
        return any(e.kind.startswith(prefixes) for e in self.events)
