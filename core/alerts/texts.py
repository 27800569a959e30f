"""A3: the alert texts, through the one template renderer (``core.templates``).

An alert names the chat by its conversation number and our number it came
in on: nothing about the contact. The waiting message's first characters
are added only when ``alert_message_body`` is on, and never in HIPAA mode,
where an SMS to a staff phone must carry no PHI (a body, a name, the
contact's number).
"""

from __future__ import annotations

import re
from typing import Final

from core.alerts.timeline import ESCALATION, NEW_CHAT, Step
from core.templates import Field, Fields, Template, compile_template

EXCERPT_LENGTH: Final = 80

FIELDS: Final = Fields(
    [
        Field("conversation", "Conversation number", 12, gsm7_only=True),
        Field("our_number", "Our number it came to", 16, gsm7_only=True),
        Field("waited", "Minutes waited", 6, gsm7_only=True),
        Field("reminder", "Reminder number", 1, gsm7_only=True),
        Field("reminders", "Reminders in all", 1, gsm7_only=True),
        Field("attempts", "Alerts sent before", 2, gsm7_only=True),
        Field("excerpt", "The waiting message's first characters", EXCERPT_LENGTH, phi=True),
    ]
)

_BASE: Final = {
    NEW_CHAT: "Switchboard: new chat #{{conversation}} waiting on {{our_number}}.",
    "reminder": (
        "Switchboard: reminder {{reminder}} of {{reminders}}, chat #{{conversation}}"
        " on {{our_number}} waiting {{waited}} min."
    ),
    ESCALATION: (
        "Switchboard: chat #{{conversation}} on {{our_number}} unanswered for {{waited}} min"
        " after {{attempts}} alerts."
    ),
}
_WITH_BODY: Final = ' "{{excerpt}}"'

TEMPLATES: Final[dict[tuple[str, bool], Template]] = {
    (kind, body): compile_template(source + (_WITH_BODY if body else ""), FIELDS)
    for kind, source in _BASE.items()
    for body in (False, True)
}

_SPACES: Final = re.compile(r"[\s\x00-\x1f\x7f]+")


def excerpt(body: str) -> str:
    """The first characters of a message, on one line (an SMS body may hold anything)."""
    flat = _SPACES.sub(" ", body).strip()
    if len(flat) <= EXCERPT_LENGTH:
        return flat
    return flat[: EXCERPT_LENGTH - 3].rstrip() + "..."


def render(
    step: Step,
    *,
    conversation_id: int,
    our_number: str,
    waited_minutes: int,
    attempts: int,
    body: str | None,
    hipaa: bool,
) -> str:
    """The text of ``step``'s alert. ``body`` is the waiting message when the setting puts
    it in alerts (None otherwise); HIPAA mode leaves it out whatever is given."""
    with_body = body is not None and not hipaa and bool(excerpt(body))
    template = TEMPLATES[(step.kind, with_body)]
    values = {
        "conversation": str(conversation_id),
        "our_number": our_number,
        "waited": str(waited_minutes),
        "reminder": str(step.reminder),
        "reminders": str(step.of),
        "attempts": str(attempts),
        "excerpt": excerpt(body) if with_body and body is not None else "",
    }
    return template.render(values, withhold=template.phi_fields if hipaa else ())
