from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sms.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentCount,
    count,
    is_gsm7,
    smart_encoding,
    split,
)

# The TS 23.038 basic table written out again, independently, as one string
# indexed by code (0x1B, the escape, kept in place), so a missing or mistyped
# character in the module shows up as a mismatch rather than being copied.
_TABLE_BY_CODE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_BASIC = frozenset(_TABLE_BY_CODE) - {"\x1b"}
_EXTENSION = "\x0c^{}\\[~]|€"


def septets(text: str) -> int:
    return sum(2 if ch in _EXTENSION else 1 for ch in text)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- the tables ------------------------------------------------------------


def test_basic_table_matches_23038_by_code_position() -> None:
    assert len(_TABLE_BY_CODE) == 128
    assert (_TABLE_BY_CODE[0x09], _TABLE_BY_CODE[0x1B], _TABLE_BY_CODE[0x24]) == ("Ç", "\x1b", "¤")
    assert (_TABLE_BY_CODE[0x40], _TABLE_BY_CODE[0x60], _TABLE_BY_CODE[0x7F]) == ("¡", "¿", "à")
    assert _BASIC == GSM7_BASIC
    assert frozenset(_EXTENSION) == GSM7_EXTENSION


def test_greek_letters_are_greek_not_latin_lookalikes() -> None:
    greek = [ch for ch in GSM7_BASIC if unicodedata.name(ch, "").startswith("GREEK")]
    assert len(greek) == 10


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Ça va", True),
        ("ça va", False),
        ("don`t", False),
        ("don't", True),
        ("price 5€ {ok}", True),
        ("\x0c", True),
        ("\t", False),
        ("😀", False),
        ("", True),
    ],
)
def test_is_gsm7(text: str, gsm: bool) -> None:
    assert is_gsm7(text) is gsm
    assert count(text).encoding == ("GSM-7" if gsm else "UCS-2")


# --- boundaries ------------------------------------------------------------

# (text, encoding, units, segments, units_left, part units)
_CASES = [
    ("", "GSM-7", 0, 0, 160, []),
    ("a", "GSM-7", 1, 1, 159, [1]),
    ("a" * 160, "GSM-7", 160, 1, 0, [160]),
    ("a" * 161, "GSM-7", 161, 2, 145, [153, 8]),
    ("a" * 306, "GSM-7", 306, 2, 0, [153, 153]),
    ("a" * 307, "GSM-7", 307, 3, 152, [153, 153, 1]),
    ("a" * 158 + "€", "GSM-7", 160, 1, 0, [160]),
    ("a" * 159 + "€", "GSM-7", 161, 2, 145, [153, 8]),
    # The escape pair fits exactly at the end of the first part...
    ("a" * 151 + "€" + "a" * 10, "GSM-7", 163, 2, 143, [153, 10]),
    # ...and one septet later it moves whole to the next, leaving one unused.
    ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2, 141, [152, 12]),
    ("ç" * 70, "UCS-2", 70, 1, 0, [70]),
    ("ç" * 71, "UCS-2", 71, 2, 63, [67, 4]),
    ("ç" * 134, "UCS-2", 134, 2, 0, [67, 67]),
    ("ç" * 135, "UCS-2", 135, 3, 66, [67, 67, 1]),
    ("ç" * 68 + "😀", "UCS-2", 70, 1, 0, [70]),
    ("ç" * 69 + "😀", "UCS-2", 71, 2, 63, [67, 4]),
    # The emoji fits exactly at the end of the first part...
    ("ç" * 65 + "😀" + "ç" * 10, "UCS-2", 77, 2, 57, [67, 10]),
    # ...and straddling the boundary it moves whole to the next part.
    ("ç" * 66 + "😀" + "ç" * 10, "UCS-2", 78, 2, 55, [66, 12]),
    ("😀" * 35, "UCS-2", 70, 1, 0, [70]),
    ("😀" * 36, "UCS-2", 72, 2, 61, [66, 6]),
]


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments", "units_left", "part_units"),
    _CASES,
    ids=[f"{c[1]}-{c[2]}u-{c[3]}seg-{i}" for i, c in enumerate(_CASES)],
)
def test_boundaries(
    text: str,
    encoding: str,
    units: int,
    segments: int,
    units_left: int,
    part_units: list[int],
) -> None:
    result = count(text)
    assert result.encoding == encoding
    assert result.characters == len(text)
    assert result.units == units
    assert result.segments == segments
    assert result.units_left == units_left
    measure = septets if encoding == "GSM-7" else utf16_units
    parts = split(text)
    assert [measure(p) for p in parts] == part_units
    assert "".join(parts) == text


def test_c_cedilla_lowercase_forces_ucs2_capital_does_not() -> None:
    body = "a" * 100
    assert count("Ç" + body) == SegmentCount("GSM-7", 101, 101, 1, 59, "septets")
    assert count("ç" + body) == SegmentCount("UCS-2", 101, 101, 2, 33, "UTF-16 units")


def test_backtick_forces_ucs2() -> None:
    assert count("a" * 100).segments == 1
    result = count("`" + "a" * 100)
    assert result.encoding == "UCS-2"
    assert result.segments == 2


def test_characters_counts_code_points_not_units() -> None:
    result = count("€😀")
    assert (result.characters, result.units) == (2, 3)
    assert count("€{").units == 4


def test_surrogate_pair_as_two_code_points_stays_together() -> None:
    # What decoding UTF-16 with "surrogatepass" piecewise can leave behind.
    pair = "\ud83d\ude00"
    text = "ç" * 66 + pair + "ç" * 10
    assert split(text) == ["ç" * 66, pair + "ç" * 10]
    assert count(text).units == 78
    assert count(text).characters == len(text) == 78


def test_to_dict() -> None:
    data = count("hello").to_dict()
    assert data == {
        "encoding": "GSM-7",
        "characters": 5,
        "units": 5,
        "unit_name": "septets",
        "segments": 1,
        "units_left": 155,
    }
    assert list(data) == ["encoding", "characters", "units", "unit_name", "segments", "units_left"]
    assert count("ç").to_dict()["unit_name"] == "UTF-16 units"


def test_split_empty() -> None:
    assert split("") == []


# --- smart encoding --------------------------------------------------------


def test_smart_encoding_offered_for_curly_quotes() -> None:
    text = "\u201c" + "a" * 148 + "\u201d"
    assert len(text) == 150
    assert count(text).segments == 3  # 150 UTF-16 units, 67 a part
    offer = smart_encoding(text)
    assert offer is not None
    assert offer.text == '"' + "a" * 148 + '"'
    assert offer.replaced == 2
    assert offer.count == count(offer.text)
    assert offer.count.encoding == "GSM-7"
    assert offer.count.segments == 1
    assert offer.segments_saved == 2


def test_smart_encoding_none_when_a_real_non_gsm_character_remains() -> None:
    assert smart_encoding("\u201c" + "a" * 148 + "\u201d 你好") is None
    assert smart_encoding("\u201c" + "a" * 148 + "\u201d 😀") is None
    assert smart_encoding("\u201c" + "a" * 148 + "\u201d ça") is None


def test_smart_encoding_none_when_nothing_saved() -> None:
    assert smart_encoding("\u201cSee you soon\u201d") is None


def test_smart_encoding_none_when_already_gsm7() -> None:
    assert smart_encoding("a" * 200) is None


def test_smart_encoding_none_when_only_invisible_characters() -> None:
    assert smart_encoding("\u200b") is None


@pytest.mark.parametrize(
    ("original", "rewritten"),
    [
        ("\u2018a\u2019 \u201ab\u201b \u2032", "'a' 'b' '"),
        ("\u201ca\u201d \u201eb\u201f \u2033", '"a" "b" "'),
        ("\u00aba\u00bb \u2039b\u203a", "\"a\" 'b'"),
        ("a\u2013b\u2014c\u2212d\u2010e\u2011f\u2012g\u2015h", "a-b-c-d-e-f-g-h"),
        ("wait\u2026", "wait..."),
        ("a\u00a0b\u2009c\u2002d\u2003e\u2007f\u202fg", "a b c d e f g"),
        ("a\u200bb\u200cc\u200dd\ufeffe", "abcde"),
        ("\u2022 one", "* one"),
        ("don`t", "don't"),
        ("\uff28\uff49\uff01", "Hi!"),
    ],
)
def test_lookalike_table(original: str, rewritten: str) -> None:
    padded = original + " " + "a" * 150
    offer = smart_encoding(padded)
    assert offer is not None
    assert offer.text == rewritten + " " + "a" * 150


# --- properties ------------------------------------------------------------

_gsm_basic = st.sampled_from(sorted(GSM7_BASIC))
_gsm_ext = st.sampled_from(_EXTENSION)
_lookalike = st.sampled_from(
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033\u00ab\u00bb\u2039\u203a"
    "\u2013\u2014\u2212\u2010\u2011\u2012\u2015\u2026\u00a0\u2009\u200b\u200d\ufeff\u2022`"
)
_emoji = st.sampled_from(["😀", "👍", "🎉", "\U0001f9d1", "\U00020000"])
# Greek small omega: GSM-7 has only the capital Greek letters it could not
# borrow from Latin.
_bmp_non_gsm = st.sampled_from("çÀ你Ж\u03c9\u00e1")


@st.composite
def _long_text(draw: st.DrawFn, specials: st.SearchStrategy[str]) -> str:
    """A repeated GSM-7 pattern up to ~3 segments long with a few specials
    dropped in anywhere: plain lists of characters stay far too short to
    reach the 70/160 limits, and the boundaries are where the bugs live."""
    pattern = draw(st.text(alphabet=_gsm_basic, min_size=1, max_size=8))
    length = draw(st.integers(0, 480))
    chars = list((pattern * (length // len(pattern) + 1))[:length])
    for _ in range(draw(st.integers(0, 6))):
        chars.insert(draw(st.integers(0, len(chars))), draw(specials))
    return "".join(chars)


_gsm_text = _long_text(st.one_of(_gsm_basic, _gsm_ext))
_mostly_gsm_with_lookalikes = _long_text(st.one_of(_gsm_ext, _lookalike))
_mixed_text = _long_text(
    st.one_of(_gsm_ext, _lookalike, _emoji, _bmp_non_gsm, st.characters(), st.text(max_size=5))
)
_any_text = st.one_of(
    _gsm_text,
    _gsm_text,
    _mostly_gsm_with_lookalikes,
    _mixed_text,
    st.lists(st.one_of(_gsm_basic, _gsm_ext, _lookalike, _emoji, _bmp_non_gsm)).map("".join),
    st.text(),
)


@settings(deadline=None)
@given(_any_text)
def test_split_round_trips_and_matches_count(text: str) -> None:
    parts = split(text)
    result = count(text)
    assert "".join(parts) == text
    assert len(parts) == result.segments
    assert all(parts)
    assert result.characters == len(text)


@settings(deadline=None)
@given(_any_text)
def test_every_part_fits(text: str) -> None:
    parts = split(text)
    result = count(text)
    gsm = result.encoding == "GSM-7"
    measure = septets if gsm else utf16_units
    single, per_part = (160, 153) if gsm else (70, 67)
    capacity = single if len(parts) == 1 else per_part
    sizes = [measure(p) for p in parts]
    assert all(size <= capacity for size in sizes)
    assert sum(sizes) == result.units
    if parts:
        assert result.units_left == capacity - sizes[-1]
    else:
        assert result.units_left == 160
    # Greedy packing: a part is only closed when the next piece does not fit.
    for part, nxt in itertools.pairwise(parts):
        assert measure(part) + measure(nxt[0]) > per_part
    for part in parts:
        data = part.encode("utf-16-le")
        last = int.from_bytes(data[-2:], "little")
        assert not 0xD800 <= last <= 0xDBFF


@settings(deadline=None)
@given(_any_text)
def test_is_gsm7_iff_encoding(text: str) -> None:
    assert is_gsm7(text) == (count(text).encoding == "GSM-7")
    assert is_gsm7(text) == all(ch in _EXTENSION or ch in _BASIC for ch in text)


@settings(deadline=None)
@given(st.one_of(_mostly_gsm_with_lookalikes, _mixed_text))
def test_smart_encoding_only_offers_real_savings(text: str) -> None:
    offer = smart_encoding(text)
    if offer is None:
        return
    assert is_gsm7(offer.text)
    assert offer.text
    assert offer.count == count(offer.text)
    assert offer.count.encoding == "GSM-7"
    assert offer.count.segments < count(text).segments
    assert offer.segments_saved == count(text).segments - offer.count.segments >= 1
    assert 1 <= offer.replaced <= len(text)


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=161))
def test_basic_gsm7_text_counts_one_septet_a_character(text: str) -> None:
    # Short basic-table text is counted without walking it a character at a time;
    # it must agree with the general packing (one extension character forces that path).
    got = count(text)
    assert (got.encoding, got.units, got.characters) == ("GSM-7", len(text), len(text))
    if 0 < len(text) <= 160:
        assert split(text) == [text]
    general = count(text + "€")
    assert general.units == len(text) + 2
    if len(text) <= 158:
        assert (got.segments, got.units_left) == (1 if text else 0, 160 - len(text))
        assert general.segments == 1
