"""How background work in the console reports a failure: one handler, in the app.

Panes run their actions as Textual workers (``@work(..., exit_on_error=False)``)
and do not catch errors. When a worker fails, Textual posts
``Worker.StateChanged`` to the widget that ran it, and that message does not
bubble; ``ReportsFailures`` (mixed into every pane) passes a failed worker's
message on to the app, whose one ``on_worker_state_changed`` tells the person:
a refusal (a ``SwitchboardError``) as an error notification, anything else
logged with its traceback and shown in a dialog.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState


class ReportsFailures:
    """Mixin for a widget that runs workers: their failures go to the app's one handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.app.post_message(Worker.StateChanged(event.worker, event.state))  # type: ignore[attr-defined]


def what_failed(worker: Worker[object]) -> str:
    """What the person was doing, as the worker describes it (``@work(description=...)``)."""
    return worker.description or worker.name or "finish a background task"
