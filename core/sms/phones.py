"""Phone numbers in E.164, read with `phonenumbers` (libphonenumber's rules).

`phonenumbers` is imported when a number is first read, not with this
module: loading it and compiling its metadata's patterns is some 25 ms, which
a `switchboard send` to a number we already hold does not need (issue #9).
"""

from __future__ import annotations

import functools

from core.errors import InvalidPhoneNumber


@functools.lru_cache(maxsize=4096)
def normalise(raw: str, region: str = "US") -> str:
    """Return ``raw`` in E.164 (+14155550123), or raise InvalidPhoneNumber with the reason.

    ``region`` is used for numbers written without a country code. The answers
    are kept (a refusal is not): parsing is some 100 µs, and an inbound SMS's
    sender and our number are read again for every message.
    """
    import phonenumbers
    from phonenumbers import NumberParseException, ValidationResult

    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("a phone number is required")
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException as exc:
        reason = {
            NumberParseException.INVALID_COUNTRY_CODE: (
                "it has no valid country code (start with + and the country code)"
            ),
            NumberParseException.NOT_A_NUMBER: "it is not a phone number",
            NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
            NumberParseException.TOO_SHORT_NSN: "it is too short",
            NumberParseException.TOO_LONG: "it is too long",
        }.get(exc.error_type, "it cannot be read")
        raise InvalidPhoneNumber(f"{text!r} is not a valid phone number: {reason}") from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        reason = {
            ValidationResult.INVALID_COUNTRY_CODE: "its country code is not valid",
            ValidationResult.TOO_SHORT: "it is too short",
            ValidationResult.TOO_LONG: "it is too long",
            ValidationResult.INVALID_LENGTH: "it has the wrong number of digits for its region",
        }.get(possible, "it cannot be a phone number")
        raise InvalidPhoneNumber(f"{text!r} is not a valid phone number: {reason}")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(
            f"{text!r} is not a valid phone number: no such number range exists"
            f" in {phonenumbers.region_code_for_number(number) or 'any region'}"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """A readable international form (+1 415-555-0123) for the screen."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def may_be_mobile(e164: str) -> bool:
    """Is this number in a mobile range (or one that does not tell mobiles apart)?"""
    import phonenumbers

    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def is_region(code: str) -> bool:
    """Is ``code`` a region whose numbers phonenumbers reads (US, GB...)?"""
    import phonenumbers

    return code in phonenumbers.SUPPORTED_REGIONS
