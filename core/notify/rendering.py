"""Each notification profile's SMS and email, from its mode, through the one renderer.

The built-in modes are templates too, compiled by ``core.templates`` against
the same fields as a custom one, so they obey the same rules: values are
never parsed again, lengths are the declared ones, and a withheld (PHI)
field renders as ``[withheld]`` whatever the mode.

- SMS ``default``: the caller's first and last name, phone and message.
- SMS ``non_message``: the outcome as the classification, the agent's
  comment and the caller ID.
- SMS ``all_data``: every collected field, the caller ID and the outcome.
- SMS ``custom`` and email ``custom``: the profile's own template(s).
- Email ``default``: a subject naming the outcome, a body of every field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from core import settings
from core.db import Database
from core.errors import InvalidInput
from core.notify import hipaa
from core.notify.fields import fields_in
from core.notify.hipaa import ProfileTemplates
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.sms import segments
from core.templates import Fields, Template, compile_template, longest_count

SMS_DEFAULT: Final = "{{first_name}} {{last_name}}, {{phone}}: {{message}}"
SMS_NON_MESSAGE: Final = "{{outcome}}: {{agent_comment}} (caller ID {{caller_id}})"
EMAIL_SUBJECT_DEFAULT: Final = "{{outcome}}: a conversation closed"
MAX_SUBJECT: Final = 200
"""As ``core.delivery.emails.MAX_SUBJECT``: a rendered subject is cut to fit."""


def _all_data(fields: Fields, names: Iterable[str]) -> str:
    # Labels hold no braces (core.notify.fields), so they stay literal here.
    return "\n".join(f"{fields[n].label}: {{{{{n}}}}}" for n in names)


def _collected_then(fields: Fields, *last: str) -> list[str]:
    """Every field, the system ones of ``last`` at the end in that order."""
    return [f.name for f in fields if f.name not in last] + [n for n in last if n in fields]


def sms_template(profile: ProfileTemplates, fields: Fields) -> Template:
    """The SMS template of ``profile``'s mode, compiled against ``fields``."""
    mode = profile.sms_mode
    if mode == "default":
        return compile_template(SMS_DEFAULT, fields)
    if mode == "non_message":
        return compile_template(SMS_NON_MESSAGE, fields)
    if mode == "all_data":
        # The agent, the comment and the time are the record's, not the caller's data.
        names = [
            n
            for n in _collected_then(fields, "caller_id", "outcome")
            if n not in ("agent", "agent_comment", "closed_at")
        ]
        return compile_template(_all_data(fields, names), fields)
    if mode == "custom":
        if not profile.sms_body:
            raise InvalidInput(f"notification profile {profile.alias} has no custom SMS template")
        return compile_template(profile.sms_body, fields)
    raise InvalidInput(f"unknown SMS mode {mode!r}")


def email_templates(profile: ProfileTemplates, fields: Fields) -> tuple[Template, Template]:
    """The subject and body templates of ``profile``'s email mode."""
    if profile.email_mode == "default":
        return (
            compile_template(EMAIL_SUBJECT_DEFAULT, fields),
            compile_template(_all_data(fields, _collected_then(fields)), fields),
        )
    if profile.email_mode == "custom":
        if not (profile.email_subject and profile.email_body):
            raise InvalidInput(
                f"notification profile {profile.alias} needs a custom email subject and body"
            )
        return (
            compile_template(profile.email_subject, fields),
            compile_template(profile.email_body, fields),
        )
    raise InvalidInput(f"unknown email mode {profile.email_mode!r}")


_CONTROLS: Final = {c: " " for c in (*range(32), 127)}


def one_line(text: str, limit: int = MAX_SUBJECT) -> str:
    """A subject: line breaks and control characters as spaces, cut to ``limit``."""
    flat = " ".join(text.translate(_CONTROLS).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@record
class Compiled:
    """A profile's templates, compiled once for every closure that notifies it."""

    sms: Template | None
    email: tuple[Template, Template] | None


def compiled(profile: ProfileTemplates, fields: Fields) -> Compiled:
    return Compiled(
        sms_template(profile, fields) if profile.sms_on else None,
        email_templates(profile, fields) if profile.email_on else None,
    )


def render_sms(template: Template, values: Mapping[str, str], withhold: Iterable[str]) -> str:
    return template.render(values, withhold)


def render_email(
    templates: tuple[Template, Template], values: Mapping[str, str], withhold: Iterable[str]
) -> tuple[str, str]:
    hidden = frozenset(withhold)
    subject, body = templates
    return one_line(subject.render(values, hidden)), body.render(values, hidden)


@record
class Preview:
    """What the template editor shows: a sample render and the worst case's size."""

    text: str
    segments: int
    encoding: str
    characters: int
    """Of the longest render."""


def sample_values(fields: Fields) -> dict[str, str]:
    """A readable stand-in for each field: its label in angle brackets, cut to fit."""
    return {f.name: f"<{f.label}>"[: f.max_length] for f in fields}


def preview(template: Template, fields: Fields, withhold: Iterable[str] = ()) -> Preview:
    """The SMS as it would look, and the segments of its longest plausible render."""
    hidden = frozenset(withhold)
    worst: segments.SegmentCount = longest_count(template, hidden)
    return Preview(
        template.render(sample_values(fields), hidden),
        worst.segments,
        worst.encoding,
        worst.characters,
    )


async def preview_sms(db: Database, actor: Actor, profile: ProfileTemplates) -> Preview:
    """The editor's live preview of ``profile``'s SMS, as HIPAA mode would send it."""

    authorize(actor, Action.VIEW_ON_CALL)
    fields = await fields_in(db)
    withhold = hipaa.withheld(await settings.load(db), fields)
    return preview(sms_template(profile, fields), fields, withhold)
