"""Whether a widget is being taken away: work that ends after that stops quietly.

A principal reload adds and removes tabs and sections while their panes
mount, a dialog closes, the app quits, all while a pane waits on the
database. Textual then takes the widget away in an order that leaves its
parts missing to whatever still runs:

- a widget taken away before it composed never gets its parts, yet its
  ``on_mount`` (and a watcher run on mount) still runs;
- a widget's workers (``@work``) run beside its message loop: its parts are
  removed first and the workers cancelled only after, so a read that returns
  in between finds none of them.

Showing what was read has nowhere to go then, so the pane stops: it asks
``gone(self)`` before its first look at its parts and again after each
await. This is not error handling: a failure of a pane that is still there
reaches the app's one handler as before (console/failures.py).
"""

from __future__ import annotations

from textual.dom import DOMNode


def gone(node: DOMNode) -> bool:
    """True once ``node`` is being removed (or was, before it composed) or the app closes."""
    # Textual marks every node of a removed subtree at once (_pruning) and a
    # node whose message loop ends (_closing); nothing public says either.
    return node._pruning or node._closing or node._closed or not node.is_attached
