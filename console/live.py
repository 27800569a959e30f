"""The console follows the change feed so every screen stays live.

Changes made anywhere (this console, another agent's console, the headless
worker, `switchboard sandbox reply`) are event rows. The app polls for new
ones a few times a second and publishes them as one batch on a Signal; the
panes that care subscribe and refresh only the rows the events name, fetching
them by id (events carry ids, never what the rows hold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True, slots=True)
class Changes:
    events: Sequence[Event]
    missed: bool = False
    """Events were pruned before this console read them (it fell a retention
    period behind): every pane reloads what it shows."""

    def kinds(self) -> set[str]:
        return {e.kind for e in self.events}

    def touches_conversation(self, conversation_id: int) -> bool:
        return self.missed or any(
            (e.entity == "conversation" and e.entity_id == conversation_id)
            or e.data.get("conversation_id") == conversation_id
            for e in self.events
        )

    def about(self, *prefixes: str) -> bool:
        return self.missed or any(e.kind.startswith(prefixes) for e in self.events)
