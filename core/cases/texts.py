"""Every case SMS, written in one place.

Each names its case ("Case K7QXM": a reply that quotes it finds the case)
and carries the contact's own link. They are written in GSM-7 (a hyphen and
three dots, not a dash and an ellipsis) so that the wording itself never
turns a text into UCS-2 and halves what a segment holds; only what people
typed can do that.
"""

from __future__ import annotations

from typing import Final

NOTE: Final = "note"
CHECKED_IN: Final = "checked_in"
REQUEST_APPROVAL: Final = "request_approval"
ASSET_READY: Final = "asset_ready"
ASSET_IN_SERVICE: Final = "asset_in_service"
INVITATION: Final = "invitation"

SUBJECTS: Final[dict[str, str]] = {
    NOTE: "New note",
    CHECKED_IN: "Checked in",
    REQUEST_APPROVAL: "Approval requested",
    ASSET_READY: "Ready for pickup",
    ASSET_IN_SERVICE: "In service",
    INVITATION: "Invitation",
}
QUICK_ACTIONS: Final = (CHECKED_IN, REQUEST_APPROVAL, ASSET_READY, ASSET_IN_SERVICE)
"""C2's buttons: a note with a fixed subject, sent by default to every texted contact."""

QUOTED: Final = 60
"""Characters of a note quoted in its SMS; the rest is on the page."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def quote(body: str) -> str:
    flat = _one_line(body)
    return flat if len(flat) <= QUOTED else flat[:QUOTED].rstrip() + "..."


def note_sms(kind: str, code: str, body: str, url: str) -> str:
    """'<subject> - Case <code>: <first 60 characters of the note>... <link>'."""
    return f"{SUBJECTS[kind]} - Case {code}: {quote(body)} {url}"


def invitation_sms(location: str, code: str, title: str, url: str, *, has_email: bool) -> str:
    """C1: the first text a contact gets on a case; asks for an email when none is known."""
    text = (
        f"{_one_line(location)}: you are invited to follow case {code}"
        f" {quote(title)} by text. {url}"
    )
    if not has_email:
        text += "\nAdd your email address on that page to get case news by email too."
    return text


def invitation_note(code: str, title: str, has_email: bool) -> str:
    """The invitation as it is kept among the case's notes (without the personal link)."""
    note = f"Invited to follow case {code} {title} by text."
    return note if has_email else note + " Asked to add an email address."
