"""How background work in the console reports a failure: one handler, in the app.

Panes run their actions as Textual workers (``@work(..., exit_on_error=False)``)
and do not catch errors. When a worker fails, Textual posts
``Worker.StateChanged`` to the widget that ran it, and that message does not
bubble; ``ReportsFailures`` (mixed into every pane) passes a failed worker's
message on to the app, whose one ``on_worker_state_changed`` tells the person:
a refusal (a ``SwitchboardError``) as an error notification, anything else
logged with its traceback and shown in a dialog. A pane that is being taken
away still passes its workers' failures on (Textual would drop them), except
a ``NoMatches``: that is its own parts gone, not a failure.
"""

from __future__ import annotations

import asyncio
import logging

from textual.css.query import NoMatches
from textual.message import Message
from textual.worker import Worker, WorkerState

from console.removal import gone

log = logging.getLogger("switchboard.console")


class ReportsFailures:
    """Mixin for a widget that runs workers: their failures go to the app's one handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.app.post_message(Worker.StateChanged(event.worker, event.state))  # type: ignore[attr-defined]

    def post_message(self, message: Message) -> bool:
        # Textual drops a message to a widget that is closing, and a pane's workers
        # outlive its parts for a moment: a failure told then would be lost.
        if (
            isinstance(message, Worker.StateChanged)
            and message.state is WorkerState.ERROR
            and gone(self)  # type: ignore[arg-type]
        ):
            worker = message.worker
            if not self.app.post_message(Worker.StateChanged(worker, message.state)):  # type: ignore[attr-defined]
                # The app is closing too: the log still has it. Textual sets the
                # worker's error just after this message, so it is read a turn later.
                asyncio.get_running_loop().call_soon(_log_lost, worker)
            return True
        return super().post_message(message)  # type: ignore[misc, no-any-return]


def parts_gone(worker: Worker[object]) -> bool:
    """Whether ``worker`` failed only because its pane went: its own parts not found."""
    return isinstance(worker.error, NoMatches) and gone(worker.node)


def _log_lost(worker: Worker[object]) -> None:
    if not parts_gone(worker):
        log.error("failed to %s", what_failed(worker), exc_info=worker.error)


def what_failed(worker: Worker[object]) -> str:
    """What the person was doing, as the worker describes it (``@work(description=...)``)."""
    return worker.description or worker.name or "finish a background task"
