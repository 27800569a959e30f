"""M5: the pure keyword rules (core.sms.optout), as table tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.settings import Settings
from core.sms.optout import (
    CTIA_HELP,
    CTIA_OPTIN,
    CTIA_OPTOUT,
    Intent,
    _normalise_unicode,
    classify,
    normalise,
)

DEFAULTS = Settings()


def default_classify(text: str) -> Intent:
    return classify(
        text,
        optout=DEFAULTS.optout_keywords,
        optin=DEFAULTS.optin_keywords,
        help=DEFAULTS.help_keywords,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "stop"),
        (" Stop. ", "stop"),
        ("ＳＴＯＰ", "stop"),  # full-width, NFKC
        ("«stop»", "stop"),
        ("STOP 🛑", "stop"),  # a trailing symbol is trimmed
        ("\u200bstop\u200b", "stop"),  # zero-width spaces (Cf)
        ("OPT   \t OUT", "opt out"),
        ("opt-out!", "opt out"),
        ("opt—out", "opt out"),  # em dash
        ("opt_out", "opt out"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # case-fold, not lower()
        ("stop by at 5", "stop by at 5"),
        ("!!!", ""),
        ("", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop",
        " Stop. ",
        "ＳＴＯＰ",
        "stop!!!",
        "...STOP...",
        "STOPALL",
        "Unsubscribe",
        "cancel",
        "END",
        "quit",
        "revoke",
        "OPTOUT",
        "OPT OUT",
        "opt-out!",
        "Opt Out.",
    ],
)
def test_stop_family_is_opt_out(text: str) -> None:
    assert default_classify(text) is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["START", "start", " Start! ", "UNSTOP", "ｓｔａｒｔ"])
def test_start_family_is_opt_in(text: str) -> None:
    assert default_classify(text) is Intent.OPT_IN


@pytest.mark.parametrize("text", ["HELP", "help?", "Info", "ＨＥＬＰ"])
def test_help_family_is_help(text: str) -> None:
    assert default_classify(text) is Intent.HELP


@pytest.mark.parametrize(
    "text",
    [
        "stop by at 5",
        "Stop the car",
        "STOP STOP",
        "stopp",
        "nonstop",
        "YES",
        "Y",
        "ok",
        "help me find the office",
        "start time?",
        "the end",
        "",
        "   ",
        "?!",
    ],
)
def test_everything_else_is_none(text: str) -> None:
    assert default_classify(text) is Intent.NONE


@pytest.mark.parametrize(
    "text",
    [
        "please stop texting me",
        "Stop messaging me!",
        "do not text this number",
        "Don't contact me again",
        "Don’t text me",  # typographic apostrophe
        "dont txt me",
        "how do I unsubscribe?",
        "opt me out please",
        "Please opt-out this number",
        "remove me from your list",
        "take me off the list",
        "no more texts",
        "Leave me alone.",
    ],
)
def test_plain_requests_to_stop_are_possible_opt_outs(text: str) -> None:
    assert default_classify(text) is Intent.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["stop by at 5", "Can you remember my order?", "I never texted", "please stop by the shop"],
)
def test_similar_words_are_not_possible_opt_outs(text: str) -> None:
    assert default_classify(text) is Intent.NONE


def test_custom_lists_add_to_the_ctia_keywords_which_always_work() -> None:
    def custom(text: str) -> Intent:
        return classify(text, optout=["ARRET"], optin=["reprise"], help=["AIDE"])

    assert custom("arret") is Intent.OPT_OUT
    assert custom("Reprise!") is Intent.OPT_IN
    assert custom("aide") is Intent.HELP
    # Lists that leave them out cannot switch STOP, START or HELP off.
    for word in ("STOP", "stopall", "Unsubscribe", "cancel", "END", "quit"):
        assert custom(word) is Intent.OPT_OUT, word
    assert custom("START") is Intent.OPT_IN
    assert custom("unstop") is Intent.OPT_IN
    assert custom("HELP") is Intent.HELP
    assert custom("info") is Intent.HELP
    none = classify("STOP", optout=[], optin=[], help=[])
    assert none is Intent.OPT_OUT


def test_an_added_keyword_cannot_take_a_ctia_keyword_elsewhere() -> None:
    # START stays opt-in and STOP opt-out, whatever list someone put them in.
    assert classify("start", optout=["START"], optin=[], help=[]) is Intent.OPT_IN
    assert classify("stop", optout=[], optin=["STOP"], help=["STOP"]) is Intent.OPT_OUT
    assert classify("help", optout=["HELP"], optin=[], help=[]) is Intent.HELP


def test_keywords_in_the_lists_are_normalised_too() -> None:
    assert classify("opt out", optout=["Opt-Out"], optin=[], help=[]) is Intent.OPT_OUT
    assert classify("stop", optout=[" STOP. "], optin=[], help=[]) is Intent.OPT_OUT
    # A keyword that normalises to nothing matches nothing.
    assert classify("!", optout=["!"], optin=[], help=[]) is Intent.NONE


def test_opt_out_wins_over_opt_in_when_lists_overlap() -> None:
    assert classify("stop", optout=["STOP"], optin=["STOP"], help=["STOP"]) is Intent.OPT_OUT
    assert classify("alto", optout=["ALTO"], optin=["ALTO"], help=[]) is Intent.OPT_OUT


# --- the ASCII fast path reads text as the Unicode path does ------------------------

ASCII_VARIANTS = (
    "{}",
    "{}.",
    " {} ",
    "*{}!!",
    "\t{}\n",
    "({})",
    "'{}' ?",
    "--{}__",
    "{} :)",
    "{} please",
    "please {}",
)


def _keywords() -> list[tuple[str, Intent]]:
    return [
        *((k, Intent.OPT_OUT) for k in (*CTIA_OPTOUT, *DEFAULTS.optout_keywords)),
        *((k, Intent.OPT_IN) for k in (*CTIA_OPTIN, *DEFAULTS.optin_keywords)),
        *((k, Intent.HELP) for k in (*CTIA_HELP, *DEFAULTS.help_keywords)),
    ]


def _spellings(word: str) -> list[str]:
    spellings = [word, word.lower(), word.title(), word.swapcase()]
    if " " in word:
        spellings += [word.replace(" ", "-"), word.replace(" ", "_"), word.replace(" ", "  \t")]
    return spellings


def test_every_keyword_in_every_ascii_variant_reads_as_the_unicode_path_reads_it() -> None:
    for keyword, intent in _keywords():
        for spelling in _spellings(keyword):
            for template in ASCII_VARIANTS:
                text = template.format(spelling)
                assert normalise(text) == _normalise_unicode(text), text
                whole = "please" not in template
                expected = intent if whole else default_classify(text)
                assert default_classify(text) is expected, text
                if whole:
                    assert normalise(text) == _normalise_unicode(keyword), text


def test_keyword_phrases_and_stop_requests_classify_as_before() -> None:
    assert default_classify("stop texting me!") is Intent.POSSIBLE_OPT_OUT
    assert default_classify("Please remove my number") is Intent.POSSIBLE_OPT_OUT
    assert default_classify("stop by at 5") is Intent.NONE
    assert default_classify("...") is Intent.NONE
    assert default_classify("") is Intent.NONE


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_is_normalised_as_the_unicode_path_would(text: str) -> None:
    assert normalise(text) == _normalise_unicode(text)
