"""S1: a campaign text's segments, counted once per shape of its values.

A GSM-7 basic character costs one unit in either encoding, never changes the
encoding, and is packed as one unit (only escape pairs and surrogate pairs
move to the next part whole). So the count of a rendered text depends only on
the opt-out line it carries, the length of each value made of GSM-7 basic
characters (a phone number, most names, a code), and each other value itself:
its :func:`shape`. 100,000 targets make a few dozen shapes, and the estimate
and dispatch count each shape once instead of rendering and counting every
target's text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from core.errors import InvalidInput
from core.sms import outgoing, segments
from core.templates import Template

MAX_SHAPES: Final = 10_000
"""Shapes a :class:`Counter` keeps; past it, it starts again (values that are not GSM-7
basic each make a shape of their own)."""

Shape = tuple[object, ...]


def shape_of(value: str) -> object:
    """What a value's share of the count depends on: its length when it is made of GSM-7
    basic characters, else the value itself."""
    return len(value) if segments.GSM7_BASIC.issuperset(value) else value


_GSM7_BASIC_SQL: Final = f"char({', '.join(str(ord(ch)) for ch in sorted(segments.GSM7_BASIC))})"


def shape_sql(value: str) -> str:
    """:func:`shape_of` in SQL, for the SQL expression ``value``: trim() takes off every
    GSM-7 basic character, so nothing is left only of a value made of them; length()
    counts characters, as len() does. Letters, digits and spaces (most values) are
    told by GLOB first: trim() compares each character with the whole set. A NUL
    (not GSM-7) is looked for in the bytes first: SQL's text functions stop at one."""
    return (
        f"CASE WHEN instr(CAST({value} AS BLOB), x'00') THEN {value}"
        f" WHEN {value} NOT GLOB '*[^A-Za-z0-9 ]*' THEN length({value})"
        f" WHEN trim({value}, {_GSM7_BASIC_SQL}) = '' THEN length({value}) ELSE {value} END"
    )


class Counter:
    """Segments of ``template`` rendered with a target's values, with the opt-out line
    its number still needs, as ``segments.count`` gives them for the rendered text."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.names = tuple(dict.fromkeys(f.name for f in template.fields_used))
        # A text with some literal that is not blank is never empty, whatever its values:
        # only then is a shape's count every such text's count (blank values keep their
        # length but could make a text that is only blank, which is not sent).
        self._never_empty = any(isinstance(p, str) and p.strip() for p in template.pieces)
        self._counted: dict[Shape, segments.SegmentCount | str | None] = {}

    def group_sql(self, values: Sequence[str]) -> list[str]:
        """What to group targets by in SQL so that each group's texts share one count,
        ``values`` being the SQL expressions of ``names``' values: their shapes, or the
        values themselves for a template whose text may render empty."""
        return [shape_sql(v) if self._never_empty else v for v in values]

    def count(self, values: Mapping[str, str], line: str | None) -> segments.SegmentCount | None:
        """The count of the text as sent; None when it renders empty (nothing to send).
        Raises InvalidInput, as rendering does, for a value the field refuses."""
        if not self._never_empty:
            found = self._count(values, line)
        else:
            key = (line, *[shape_of(values.get(name, "")) for name in self.names])
            if key not in self._counted:
                if len(self._counted) >= MAX_SHAPES:
                    self._counted.clear()
                self._counted[key] = self._count(values, line)
            found = self._counted[key]
        if isinstance(found, str):
            raise InvalidInput(found)
        return found

    def _count(
        self, values: Mapping[str, str], line: str | None
    ) -> segments.SegmentCount | str | None:
        try:
            text = self.template.render(values)
        except InvalidInput as refused:
            # Kept as its message: the same shape is refused alike (by length, or a value
            # that is its own shape), and each refusal raises a fresh error.
            return str(refused)
        if not text.strip():
            return None
        try:
            # The template was checked when saved: a control character here came with a
            # value (a contact saved before contacts refused them).
            outgoing.check_text(text, "the text with this target's values")
        except InvalidInput as refused:
            return str(refused)
        return segments.count(outgoing.with_notice(text, line))
