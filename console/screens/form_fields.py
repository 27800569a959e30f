"""What the permission-profile forms share: an on/off box that reads at a glance, and
remembering what each field showed so that only what was changed is sent to core."""

from __future__ import annotations

from textual.dom import DOMNode
from textual.widgets import Checkbox, Select

from console.widgets.editing import Input, TextArea


class Tick(Checkbox):
    """A checkbox whose box is empty when off: Textual only dims the X, hard to tell apart."""

    BUTTON_INNER = " "

    def _watch_value(self, value: bool) -> None:
        self.BUTTON_INNER = "X" if value else " "


class Remembered:
    """Mixin for a screen: each field's value as loaded, by widget id, to find what changed."""

    loaded: dict[str, object]

    def value_of(self, widget_id: str) -> object:
        assert isinstance(self, DOMNode)
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Checkbox):
            return widget.value
        if isinstance(widget, TextArea):
            return widget.text
        if isinstance(widget, Select):
            return widget.value
        assert isinstance(widget, Input)
        return widget.value

    def put(self, widget_id: str, value: object) -> None:
        """Show ``value`` in the field and remember it as what is stored."""
        assert isinstance(self, DOMNode)
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Checkbox):
            widget.value = bool(value)
        elif isinstance(widget, TextArea):
            widget.text = str(value)
        elif isinstance(widget, Input):
            widget.value = str(value)
        elif isinstance(widget, Select):
            widget.value = value
        self.loaded[widget_id] = self.value_of(widget_id)

    def changed(self, widget_ids: list[str]) -> list[str]:
        """Those of ``widget_ids`` whose field differs from what was loaded."""
        return [w for w in widget_ids if self.value_of(w) != self.loaded.get(w)]

    @property
    def is_dirty(self) -> bool:
        return bool(self.changed(list(self.loaded)))
