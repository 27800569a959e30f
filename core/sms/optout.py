"""M5: what an inbound message asks for, read the way carriers read it.

A keyword counts only when it is the whole message after Unicode NFKC,
case-folding, and trimming spaces and punctuation ("Stop." and "ＳＴＯＰ" are
STOP; "stop by at 5" is not). A longer message that plainly asks us to stop is
not acted on automatically but flagged for an agent to confirm: acting on it
could silence someone who did not mean it, ignoring it could text someone who
asked us not to.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Iterable
from enum import StrEnum


class Intent(StrEnum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"
    POSSIBLE_OPT_OUT = "possible opt-out"
    NONE = "none"


# Phrases that, inside a longer message, plainly ask to stop. Matched on the
# normalised text as whole words.
_STOP_PHRASES = re.compile(
    r"\b("
    r"stop (texting|messaging|sending|contacting|txting|msging)"
    r"|(do not|dont|don't|never) (text|message|contact|sms|txt)"
    r"|unsubscribe|opt (me )?out|optout"
    r"|remove (me|my number)|take me off|delete my number"
    r"|no more (texts|messages|sms)"
    r"|leave me alone"
    r")\b"
)


def normalise(text: str) -> str:
    """NFKC, case-fold, read dashes as spaces, collapse whitespace, trim punctuation.

    "opt-out" and "opt_out" are "opt out", the way a person means them.
    """
    if text.isascii():
        return _normalise_ascii(text)
    return _normalise_unicode(text)


# In ASCII, NFKC changes nothing, case-folding is lower(), the only dash and
# connector punctuation (Pd, Pc) are "-" and "_", and the trimmable characters
# are the whitespace and string.punctuation (every ASCII P* and S*; no Cf).
# Most inbound SMS are ASCII, and classifying one character at a time in
# Python was a tenth of what storing an inbound SMS cost the webhook server.
_ASCII_DASHES = str.maketrans("-_", "  ")
_ASCII_TRIM = string.punctuation + "".join(ch for ch in map(chr, range(128)) if ch.isspace())


def _normalise_ascii(text: str) -> str:
    return " ".join(text.lower().translate(_ASCII_DASHES).split()).strip(_ASCII_TRIM)


def _normalise_unicode(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = "".join(" " if unicodedata.category(ch) in ("Pd", "Pc") else ch for ch in folded)
    folded = " ".join(folded.split())
    start, end = 0, len(folded)
    while start < end and _is_trimmable(folded[start]):
        start += 1
    while end > start and _is_trimmable(folded[end - 1]):
        end -= 1
    return folded[start:end]


def _is_trimmable(ch: str) -> bool:
    category = unicodedata.category(ch)
    return ch.isspace() or category.startswith("P") or category.startswith("S") or category == "Cf"


# CTIA's keywords work whatever the settings say: a carrier treats them this way,
# so an account that turned STOP off would still have opted-out people on
# record with the carrier, and texting them breaks the rules. Settings only add.
CTIA_OPTOUT: tuple[str, ...] = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
CTIA_OPTIN: tuple[str, ...] = ("START", "UNSTOP")
CTIA_HELP: tuple[str, ...] = ("HELP", "INFO")


def _keyword_set(keywords: Iterable[str]) -> frozenset[str]:
    return _normalised_keywords(tuple(keywords))


@functools.lru_cache(maxsize=64)
def _normalised_keywords(keywords: tuple[str, ...]) -> frozenset[str]:
    # Every inbound message is classified against the account's keyword lists; they
    # change only when a setting does, and normalising them each time was a tenth of
    # what storing an inbound SMS cost the webhook server.
    return frozenset(word for word in map(normalise, keywords) if word)


_ALWAYS = (
    (Intent.OPT_OUT, _keyword_set(CTIA_OPTOUT)),
    (Intent.OPT_IN, _keyword_set(CTIA_OPTIN)),
    (Intent.HELP, _keyword_set(CTIA_HELP)),
)


def classify(
    text: str,
    *,
    optout: Iterable[str],
    optin: Iterable[str],
    help: Iterable[str],
) -> Intent:
    """What ``text`` asks for: the CTIA keywords, then the account's added ones."""
    word = normalise(text)
    if not word:
        return Intent.NONE
    # Checked first, so an added keyword can never take START away from opt-in.
    for intent, always in _ALWAYS:
        if word in always:
            return intent
    if word in _keyword_set(optout):
        return Intent.OPT_OUT
    if word in _keyword_set(optin):
        return Intent.OPT_IN
    if word in _keyword_set(help):
        return Intent.HELP
    if _STOP_PHRASES.search(word.replace("’", "'")):
        return Intent.POSSIBLE_OPT_OUT
    return Intent.NONE
