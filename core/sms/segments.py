"""SMS segment counting (feature M3): encoding, units, segments, units left.

Pure and stdlib-only so the console can call it on every keystroke and the
send path can call it to estimate cost, with both always agreeing.

The rules come from 3GPP TS 23.038 (alphabets) and TS 23.040 (concatenated
SMS). A message travels in the GSM 7-bit default alphabet when every
character is in it; a single character outside it forces the whole message
into UCS-2, which is why one curly quote can double or triple the cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Literal

from core.records import record

Encoding = Literal["GSM-7", "UCS-2"]

# A single SMS carries 140 octets of user data: 160 septets or 70 UTF-16 units.
GSM7_SINGLE: Final = 160
UCS2_SINGLE: Final = 70
# A concatenated part spends 6 octets of those 140 on the user data header
# (reference, part count, part number). For GSM-7 that is 48 bits, which the
# septet alignment rounds up to 7 septets: 160 - 7 = 153. For UCS-2 it is 3
# UTF-16 units: 70 - 3 = 67.
GSM7_PART: Final = 153
UCS2_PART: Final = 67

# The GSM 7-bit default alphabet, basic table, in code order (TS 23.038 6.2.1).
# 0x1B is the escape to the extension table, not a character, so 127 entries.
# The table has capital C-cedilla but not the lowercase one, and no backtick:
# both are common in real text and silently switch a message to UCS-2.
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\N{GREEK CAPITAL LETTER DELTA}_"
    "\N{GREEK CAPITAL LETTER PHI}\N{GREEK CAPITAL LETTER GAMMA}"
    "\N{GREEK CAPITAL LETTER LAMDA}\N{GREEK CAPITAL LETTER OMEGA}"
    "\N{GREEK CAPITAL LETTER PI}\N{GREEK CAPITAL LETTER PSI}"
    "\N{GREEK CAPITAL LETTER SIGMA}\N{GREEK CAPITAL LETTER THETA}"
    "\N{GREEK CAPITAL LETTER XI}ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# The extension table (TS 23.038 6.2.1.1). Each is sent as ESC + character,
# so it costs two septets.
GSM7_EXTENSION: Final = frozenset("\x0c^{}\\[]~|€")


@record
class SegmentCount:
    encoding: Encoding
    characters: int
    units: int
    segments: int
    units_left: int
    unit_name: str

    def to_dict(self) -> dict[str, str | int]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "units": self.units,
            "unit_name": self.unit_name,
            "segments": self.segments,
            "units_left": self.units_left,
        }


@record
class SmartEncoding:
    text: str
    replaced: int
    count: SegmentCount
    segments_saved: int


_GSM7_ALL: Final = GSM7_BASIC | GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    return _GSM7_ALL.issuperset(text)


def _atoms(text: str, gsm: bool) -> Iterator[tuple[int, int]]:
    """Yield (code points, units) for each piece a part boundary must not cut.

    A GSM-7 escape pair is one code point here, so only its cost matters. In
    UCS-2 a code point beyond the BMP is itself a surrogate pair; a high and a
    low surrogate that arrive as two code points (text decoded with
    "surrogatepass") are one pair as well and travel together.
    """
    if gsm:
        for ch in text:
            yield 1, (2 if ch in GSM7_EXTENSION else 1)
        return
    i, n = 0, len(text)
    while i < n:
        cp = ord(text[i])
        if cp > 0xFFFF:
            yield 1, 2
            i += 1
        elif 0xD800 <= cp <= 0xDBFF and i + 1 < n and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            yield 2, 2
            i += 2
        else:
            yield 1, 1
            i += 1


@record
class _Packing:
    encoding: Encoding
    units: int
    # (end index in code points, units used) for each part, in order.
    parts: list[tuple[int, int]]
    capacity: int


def _pack(text: str) -> _Packing:
    if len(text) <= GSM7_SINGLE and GSM7_BASIC.issuperset(text):
        # One septet per character, one part: most inbound SMS, counted without
        # walking the text a character at a time in Python.
        return _Packing("GSM-7", len(text), [(len(text), len(text))] if text else [], GSM7_SINGLE)
    gsm = is_gsm7(text)
    encoding: Encoding = "GSM-7" if gsm else "UCS-2"
    single, per_part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    atoms = list(_atoms(text, gsm))
    units = sum(cost for _, cost in atoms)
    if not text:
        return _Packing(encoding, 0, [], single)
    if units <= single:
        return _Packing(encoding, units, [(len(text), units)], single)
    # Greedy packing. A piece that does not fit in what is left of a part
    # starts the next one whole: a split escape pair would leave a bare ESC
    # at the end of one part (shown as a space or dropped) and a wrong basic
    # character at the start of the next; a split surrogate pair is two
    # invalid halves. The unused unit is the price of that.
    parts: list[tuple[int, int]] = []
    pos = used = 0
    for length, cost in atoms:
        if used + cost > per_part:
            parts.append((pos, used))
            used = 0
        pos += length
        used += cost
    parts.append((pos, used))
    return _Packing(encoding, units, parts, per_part)


def _unit_name(encoding: Encoding) -> str:
    return "septets" if encoding == "GSM-7" else "UTF-16 units"


def count(text: str) -> SegmentCount:
    packing = _pack(text)
    last_used = packing.parts[-1][1] if packing.parts else 0
    return SegmentCount(
        encoding=packing.encoding,
        characters=len(text),
        units=packing.units,
        segments=len(packing.parts),
        units_left=packing.capacity - last_used,
        unit_name=_unit_name(packing.encoding),
    )


def split(text: str) -> list[str]:
    """The parts as they would be sent; "".join(split(text)) == text."""
    out: list[str] = []
    start = 0
    for end, _ in _pack(text).parts:
        out.append(text[start:end])
        start = end
    return out


# Look-alikes with a GSM-7 stand-in that a reader would not notice. Mostly
# what word processors and phone keyboards substitute automatically. Letters
# are deliberately absent: lowercase c-cedilla has no GSM-7 form, and turning
# it into capital C-cedilla or a plain c changes the word.
_LOOKALIKES: Final[dict[str, str]] = {
    # Quotes and primes.
    "\N{LEFT SINGLE QUOTATION MARK}": "'",
    "\N{RIGHT SINGLE QUOTATION MARK}": "'",
    "\N{SINGLE LOW-9 QUOTATION MARK}": "'",
    "\N{SINGLE HIGH-REVERSED-9 QUOTATION MARK}": "'",
    "\N{PRIME}": "'",
    "\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK}": "'",
    "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}": "'",
    "\N{GRAVE ACCENT}": "'",
    "\N{ACUTE ACCENT}": "'",
    "\N{LEFT DOUBLE QUOTATION MARK}": '"',
    "\N{RIGHT DOUBLE QUOTATION MARK}": '"',
    "\N{DOUBLE LOW-9 QUOTATION MARK}": '"',
    "\N{DOUBLE HIGH-REVERSED-9 QUOTATION MARK}": '"',
    "\N{DOUBLE PRIME}": '"',
    "\N{LEFT-POINTING DOUBLE ANGLE QUOTATION MARK}": '"',
    "\N{RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK}": '"',
    # Dashes.
    "\N{HYPHEN}": "-",
    "\N{NON-BREAKING HYPHEN}": "-",
    "\N{FIGURE DASH}": "-",
    "\N{EN DASH}": "-",
    "\N{EM DASH}": "-",
    "\N{HORIZONTAL BAR}": "-",
    "\N{MINUS SIGN}": "-",
    # Ellipsis and bullet.
    "\N{HORIZONTAL ELLIPSIS}": "...",
    "\N{BULLET}": "*",
    # Spaces: every fixed-width space in U+2000..U+200A, plus these.
    "\N{NO-BREAK SPACE}": " ",
    "\N{NARROW NO-BREAK SPACE}": " ",
    "\N{MEDIUM MATHEMATICAL SPACE}": " ",
    "\N{IDEOGRAPHIC SPACE}": " ",
    **{chr(cp): " " for cp in range(0x2000, 0x200B)},
    # Invisible characters: dropping them changes nothing a reader sees.
    "\N{ZERO WIDTH SPACE}": "",
    "\N{ZERO WIDTH NON-JOINER}": "",
    "\N{ZERO WIDTH JOINER}": "",
    "\N{WORD JOINER}": "",
    "\N{ZERO WIDTH NO-BREAK SPACE}": "",
    "\N{SOFT HYPHEN}": "",
}
# Full-width ASCII (U+FF01..U+FF5E) is ASCII offset by 0xFEE0, which is what
# NFKC does for this block; NFKC on the whole text would also fold letters
# with meaning (superscripts, ligatures), so only this block is folded.
for _cp in range(0xFF01, 0xFF5F):
    _LOOKALIKES.setdefault(chr(_cp), chr(_cp - 0xFEE0))
del _cp
# The full-width backtick folds to a backtick, which GSM-7 lacks either.
_LOOKALIKES["\N{FULLWIDTH GRAVE ACCENT}"] = "'"

_LOOKALIKE_TABLE: Final = str.maketrans(_LOOKALIKES)


def smart_encoding(text: str) -> SmartEncoding | None:
    """Offer a GSM-7 rewrite of look-alike characters, or None.

    Only an offer: the console shows it with the saving and the agent
    chooses. None when nothing would change, when the rewrite still needs
    UCS-2 (a real non-GSM character remains), when it saves no segment, or
    when it would leave an empty message.
    """
    rewritten = text.translate(_LOOKALIKE_TABLE)
    if rewritten == text or not rewritten or not is_gsm7(rewritten):
        return None
    before = count(text)
    after = count(rewritten)
    saved = before.segments - after.segments
    if saved < 1:
        return None
    replaced = sum(1 for ch in text if ch in _LOOKALIKES)
    return SmartEncoding(text=rewritten, replaced=replaced, count=after, segments_saved=saved)
