"""P1: a notification profile's contact numbers, email addresses and SMS numbers, checked.

Each list is checked whole where it enters: every entry read (numbers into
E.164 with ``phonenumbers``, addresses with ``email-validator``), the limit
of each kind, and no entry twice. A duplicate is refused, naming both
spellings, rather than folded: "+1 415 555 0100" and "(415) 555-0100"
typed into two rows is more likely a slip than a wish, and a list that
silently came back shorter than typed would hide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from core.errors import InvalidInput, LimitExceeded, NotMobile
from core.sms import phones
from core.text import is_utf8, refuse_control_characters

MAX_CONTACT_NUMBERS: Final = 5
"""Numbers for transfers and on-call dispatch; the seed names no limit, a call
list longer than this is not one an agent works through."""
MAX_EMAILS: Final = 5
"""The seed: "a maximum of 5 emails"."""
MAX_SMS_NUMBERS: Final = 5
"""The seed: "a maximum of 5 numbers to receive SMS messages"."""

_LONGEST_ENTRY: Final = 320
"""Characters an entry may have before it is read at all (an address is at most 254)."""

CONTACT_NUMBER: Final = "contact_number"
EMAIL: Final = "email"
SMS: Final = "sms"
KINDS: Final = (CONTACT_NUMBER, EMAIL, SMS)

_WHAT: Final = {
    CONTACT_NUMBER: ("contact number", "contact numbers", MAX_CONTACT_NUMBERS),
    EMAIL: ("email address", "email addresses", MAX_EMAILS),
    SMS: ("SMS number", "SMS numbers", MAX_SMS_NUMBERS),
}


def checked(kind: str, entries: Sequence[str], region: str) -> tuple[str, ...]:
    """``entries`` of ``kind`` as stored, in the order given; refused naming the rule.

    Blank entries are dropped (an empty row of a form). LimitExceeded past
    the kind's limit; InvalidInput (InvalidPhoneNumber) for an entry that
    cannot be read or one given twice; NotMobile for an SMS number that is
    not a mobile one.
    """
    one, many, limit = _WHAT[kind]
    if isinstance(entries, str):
        raise InvalidInput(f"the {many} must be a list")
    given = [_text(one, raw) for raw in entries]
    given = [raw for raw in given if raw]
    if len(given) > limit:
        raise LimitExceeded(
            f"a notification profile has at most {limit} {many}; {len(given)} were given"
        )
    result: list[str] = []
    typed: dict[str, str] = {}
    for raw in given:
        value = _email(raw) if kind == EMAIL else _number(kind, raw, region)
        key = value.casefold()
        if key in typed:
            raise InvalidInput(f"{raw!r} is the same {one} as {typed[key]!r}; give each {one} once")
        typed[key] = raw
        result.append(value)
    return tuple(result)


def _text(one: str, raw: object) -> str:
    if not isinstance(raw, str) or not is_utf8(raw):
        raise InvalidInput(f"each {one} must be text")
    raw = raw.strip()
    a_one = f"{'an' if one[0] in 'aeiou' else 'a'} {one}"
    if len(raw) > _LONGEST_ENTRY:
        raise InvalidInput(
            f"{a_one} is at most {_LONGEST_ENTRY} characters; this one has {len(raw)}"
        )
    refuse_control_characters(a_one, raw)
    return raw


def _number(kind: str, raw: str, region: str) -> str:
    e164 = phones.normalise(raw, region)
    if kind == SMS and not phones.may_be_mobile(e164):
        raise NotMobile(
            f"{e164} is not a mobile number; the SMS numbers of a notification profile must be"
            " mobile numbers (put a landline under contact numbers)"
        )
    return e164


def _email(raw: str) -> str:
    # Imported here: only saving a profile needs it, and commands' start-up is timed.
    from email_validator import EmailNotValidError, validate_email

    try:
        # Deliverability (a DNS lookup) is not checked: saving must not wait on
        # the network, and a domain without mail today may have it tomorrow.
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"{raw!r} is not a valid email address: {exc}") from None
