"""The canned-reply picker (the thread's Ctrl+L): a reply of your profile, filled in.

The list is what core says the principal may use (``canned_replies.templates_for``),
each with its name and its template as written, placeholders and all. Enter
asks core for the text for the open conversation (``canned_replies.render``)
and hands it to ``insert`` (False: the thread moved on meanwhile). A refusal
(the grant taken away meanwhile) shows in the picker in core's words.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from console.context import ConsoleContext
from console.safe_text import clipped
from console.screens.choice import ChoiceScreen
from console.text import literal
from core.sms import canned_replies
from core.sms.conversations import Conversation


def no_replies(context: ConsoleContext) -> str:
    """What the key says to a principal whose profile has no canned reply."""
    profile = context.actor.profile_name or "none"
    return (
        f"No canned replies for your profile ({profile}): a manager grants them in the"
        " permission profile's SMS templates"
    )


NAME = 20
LINE = 66
"""Characters of a line of the picker (76 columns, less borders and padding):
the name (at most NAME), two spaces, and as much of the template as fits."""


class CannedReplyPicker(ChoiceScreen[int]):
    """Wider than the other pickers: the templates' first words tell them apart."""

    DEFAULT_CSS = """
    CannedReplyPicker > Vertical { width: 76; }
    """


def preview(body: str, width: int) -> Text:
    """The template on one line, as written: ``{{contact_name}}`` shows as such."""
    # literal: a template's text is a manager's, shown as typed (no markup, and a
    # control character made visible rather than sent to the terminal).
    return literal(clipped(" ".join(body.split()), width), style="dim")


async def canned_reply_picker(
    context: ConsoleContext, conversation: Conversation, insert: Callable[[str], bool]
) -> CannedReplyPicker | None:
    """The picker, or None when the profile has no canned reply (the caller says so)."""
    db = context.db
    templates = await canned_replies.templates_for(db, context.actor)
    if not templates:
        return None
    names = {template.id: template.name for template in templates}
    shown = {template.id: clipped(template.name, NAME) for template in templates}
    # Names padded to one column, so the previews line up.
    column = max(len(name) for name in shown.values())
    choices = [
        (
            template.id,
            literal(shown[template.id].ljust(column), style="bold")
            + "  "
            + preview(template.body, LINE - column - 2),
        )
        for template in templates
    ]

    async def choose(template_id: int) -> str:
        text = await canned_replies.render(db, context.actor, template_id, conversation.id)
        if not insert(text):
            return "Another conversation is open now: the canned reply was not inserted"
        return f"Inserted the canned reply {names[template_id]}: edit it, then Ctrl+S sends"

    who = conversation.contact_name or conversation.phone
    title = Text("Canned reply to ") + literal(who, style="bold")
    return CannedReplyPicker(title, choices, choose, id="canned-reply-picker")
