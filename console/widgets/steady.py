"""Redrawing only what changed: a keystroke's frame must not carry work that changes nothing.

Textual's Footer recomposes (mounts a widget per key and lays the screen out
again) on every bindings signal: each thread opened, each composer edit that
turns a key on or off. A Static's update lays the whole screen out again too.
Opening a conversation sends several of each, and most leave the screen as it
was; the agent's next key waits for them.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static


class SteadyFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[object, ...] | None = None

    def shown_keys(self) -> tuple[object, ...]:
        """Everything compose() reads from the bindings, in order."""
        app = self.app
        return (
            self.show_command_palette,
            *(
                (
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    binding.group,
                    enabled,
                    tooltip,
                )
                for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                if binding.show or binding.key == app.COMMAND_PALETTE_BINDING
            ),
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # Textual's own check, then a deferred comparison: by the next refresh
        # every change made with this one has happened.
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        shown = self.shown_keys()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()


def update(static: Static, content: Text | Content | str) -> None:
    """``static.update(content)``, unless it already shows exactly that.

    Laid out again only when its height changes: a layout of any widget, even
    one on a hidden tab, reflows the screen and draws every widget anew (20-50
    ms under a busy feed, which the agent's next key waits for).
    """
    if _same(static.content, content):
        return
    if not all(node.display for node in static.ancestors_with_self):
        # Hidden (a tab not shown): the layout that shows it measures it.
        static.update(content, layout=False)
        return
    size, width = static.size, static.styles.width
    if not size or (width is not None and width.is_auto):
        static.update(content)
        return
    static.update(content, layout=False)
    if static.get_content_height(static.container_size, static.app.size, size.width) != size.height:
        static.refresh(layout=True)


def _same(shown: object, content: Text | Content | str) -> bool:
    # Text and Content compare their plain text only: styles must match too.
    if isinstance(content, Text) and isinstance(shown, Text):
        return (shown.plain, shown.style, shown.spans) == (
            content.plain,
            content.style,
            content.spans,
        )
    if isinstance(content, Content) and isinstance(shown, Content):
        return (shown.plain, shown.spans) == (content.plain, content.spans)
    return isinstance(content, str) and isinstance(shown, str) and shown == content
