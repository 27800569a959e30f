"""One template renderer for every template (canned replies, notices, alerts, campaigns).

A template is text with ``{{field}}`` placeholders. The fields a template
may use are declared (:class:`Field`, gathered in a :class:`Fields`), and
:func:`compile_template` checks a template when it is saved: an unknown
field is refused by name, with the known ones listed, and so is anything
between ``{{`` and ``}}`` that is not a bare field name.

Why a parser of our own rather than Jinja2's sandbox with StrictUndefined:
the language is one construct, so the parser is some forty lines we can
read whole; Jinja2 would bring loops, filters and attribute access that
the sandbox then has to take away again, its error messages talk about
Jinja, not about our fields, and undeclared-but-harmless names
(``{{ range }}``, ``{{ loop }}``) mean something to it. Here nothing is
evaluated: a placeholder is a name, looked up in a dict.

Rendering joins the template's literal pieces with the values; a value is
text and is never parsed again, so a contact who types ``{{caller_id}}``
into a form gets exactly those characters in the message.

- A value missing from the data renders as empty: collected data is often
  partial (no last name), and an alert with a blank is better than no alert.
  A misspelt field cannot reach rendering, because compile refused it.
- A value longer than its field's ``max_length`` is refused: the place
  that collects the data enforces the same declared limit, and the segment
  estimate a manager saw (:func:`longest_count`) must hold for every render.
- A withheld field (HIPAA mode withholds PHI fields) renders as
  :data:`WITHHELD`, whatever its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

from core.errors import InvalidInput
from core.records import record
from core.sms import segments
from core.text import is_utf8

OPEN: Final = "{{"
CLOSE: Final = "}}"
WITHHELD: Final = "[withheld]"
"""What a withheld field renders as: GSM-7, and plainly not a value."""

MAX_TEMPLATE: Final = 20_000
"""Characters in a template: an email body with room to spare."""
MAX_FIELD_LENGTH: Final = 100_000

FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""What a field's name may be."""
# What a person might have meant as a name: used only to word the refusal.
_LOOKS_LIKE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Fillers for the longest render. A GSM-7 extension character costs two
# septets and an astral character two UTF-16 units: the most a character can
# cost in either encoding. Segment packing is greedy in text order, and a
# costlier or an extra character never gives fewer parts, so these fillers at
# the full length give the most parts any render can take.
_GSM7_COSTLIEST: Final = "€"
_UCS2_COSTLIEST: Final = "\N{GRINNING FACE}"


@record
class Field:
    """A field a template may use.

    ``max_length`` is the longest value the field may take, in characters
    (code points); ``gsm7_only`` says every value is in the GSM-7 alphabet
    (phone numbers, dates, a choice from a fixed list), so it can never turn
    a message into UCS-2. ``phi`` marks protected health information, which
    HIPAA mode withholds.
    """

    name: str
    label: str
    max_length: int
    phi: bool = False
    gsm7_only: bool = False

    def __post_init__(self) -> None:
        if not FIELD_NAME.fullmatch(self.name):
            raise InvalidInput(
                f"field name {self.name!r} must be 1-64 lowercase letters, digits or _,"
                " starting with a letter"
            )
        if not self.label.strip():
            raise InvalidInput(f"field {self.name} needs a label")
        if not 1 <= self.max_length <= MAX_FIELD_LENGTH:
            raise InvalidInput(
                f"field {self.name}: max_length must be between 1 and {MAX_FIELD_LENGTH},"
                f" not {self.max_length}"
            )

    @property
    def placeholder(self) -> str:
        """The text an editor inserts for this field."""
        return f"{OPEN}{self.name}{CLOSE}"


@record
class EditorField:
    """One line of the editor's field list: what to show and what to insert."""

    name: str
    label: str
    insert: str
    max_length: int
    phi: bool


class Fields:
    """The declared fields of one kind of template, in the order an editor lists them."""

    __slots__ = ("_by_name",)

    def __init__(self, fields: Iterable[Field]) -> None:
        by_name: dict[str, Field] = {}
        for field in fields:
            if field.name in by_name:
                raise InvalidInput(f"field {field.name} is declared twice")
            by_name[field.name] = field
        self._by_name = by_name

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Field]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def editor_fields(self) -> list[EditorField]:
        """The list an editor shows (P2): each field with the exact text to insert."""
        return [
            EditorField(f.name, f.label, f.placeholder, f.max_length, f.phi)
            for f in self._by_name.values()
        ]

    def unknown(self, name: str) -> UnknownField:
        # Imported here: only a refusal needs it, and the console's start is timed.
        import difflib

        known = ", ".join(self._by_name) or "none"
        close = difflib.get_close_matches(name, self._by_name, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return UnknownField(f"unknown field {name!r}{hint}; the known fields are: {known}")


class UnknownField(InvalidInput):
    """A template names a field its kind does not declare."""


@record
class Template:
    """A checked template: literal text and fields, in order. Made by :func:`compile_template`."""

    source: str
    pieces: tuple[str | Field, ...]

    @property
    def fields_used(self) -> tuple[Field, ...]:
        """Each field the template uses, once, in order of first use."""
        seen: dict[str, Field] = {}
        for piece in self.pieces:
            if isinstance(piece, Field):
                seen.setdefault(piece.name, piece)
        return tuple(seen.values())

    @property
    def phi_fields(self) -> frozenset[str]:
        """The PHI fields it uses: what HIPAA mode must withhold, or refuse the template for."""
        return frozenset(f.name for f in self.fields_used if f.phi)

    def render(self, values: Mapping[str, str], withhold: Iterable[str] = ()) -> str:
        """The text with each placeholder replaced by its value, never parsed again.

        A missing value renders as empty; a field in ``withhold`` renders as
        :data:`WITHHELD`, whatever ``values`` holds for it.
        """
        return _join(self, frozenset(withhold), lambda f: _checked_value(f, values.get(f.name, "")))


def _checked_value(field: Field, value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"the value of {field.name} must be text, not {type(value).__name__}")
    if len(value) > field.max_length:
        raise InvalidInput(
            f"the value of {field.name} has {len(value)} characters; the field holds at most"
            f" {field.max_length}"
        )
    if not is_utf8(value):
        raise InvalidInput(f"the value of {field.name} is not valid text (a lone surrogate)")
    if field.gsm7_only and not segments.is_gsm7(value):
        raise InvalidInput(
            f"the value of {field.name} must be GSM-7 text (the field is declared so)"
        )
    return value


def compile_template(source: str, fields: Fields) -> Template:
    """Check ``source`` against the declared ``fields``; InvalidInput naming what is wrong.

    Refused: an empty template, ``{{`` that is never closed, ``}}`` that
    closes nothing, and anything between the braces but one declared field
    name (spaces around it are allowed): no attributes (``a.b``), filters
    (``a|b``), calls, expressions or nested braces.
    """
    pieces: list[str | Field] = []
    for piece in _pieces(source):
        if isinstance(piece, str):
            pieces.append(piece)
        elif piece.name in fields:
            pieces.append(fields[piece.name])
        else:
            raise fields.unknown(piece.name)
    return Template(source, tuple(pieces))


def names_in(source: str) -> tuple[str, ...]:
    """The field names ``source``'s placeholders hold, once each, in order; InvalidInput
    as :func:`compile_template` for a malformed template. For a kind whose fields are
    costly to find: only these need looking for before compiling."""
    return tuple(
        dict.fromkeys(piece.name for piece in _pieces(source) if isinstance(piece, _Named))
    )


@record
class _Named:
    """A well-formed placeholder, before its field is looked up."""

    name: str


def _pieces(source: str) -> Iterator[str | _Named]:
    """``source`` as literal text and placeholders, checked as compile_template says."""
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput("a template cannot be empty")
    if len(source) > MAX_TEMPLATE:
        raise InvalidInput(f"a template is at most {MAX_TEMPLATE} characters, not {len(source)}")
    if not is_utf8(source):
        raise InvalidInput("a template must be valid UTF-8 text")
    pos = 0
    while True:
        start = source.find(OPEN, pos)
        literal = source[pos:] if start < 0 else source[pos:start]
        stray = literal.find(CLOSE)
        if stray >= 0:
            raise InvalidInput(
                f"'}}}}' at character {pos + stray + 1} closes no placeholder;"
                " a placeholder is {{field}}"
            )
        if literal:
            yield literal
        if start < 0:
            return
        end = source.find(CLOSE, start + len(OPEN))
        if end < 0:
            raise InvalidInput(
                f"the placeholder at character {start + 1} is never closed with '}}}}'"
            )
        inner = source[start + len(OPEN) : end]
        name = inner.strip()
        if not FIELD_NAME.fullmatch(name):
            raise InvalidInput(_malformed(inner, start))
        yield _Named(name)
        pos = end + len(CLOSE)


def _malformed(inner: str, start: int) -> str:
    shown = OPEN + inner + CLOSE
    where = f"the placeholder {shown!r} at character {start + 1}"
    if not inner.strip():
        return f"{where} has no field name"
    if OPEN[0] in inner or CLOSE[0] in inner:
        return f"{where} holds braces; placeholders cannot be nested"
    if _LOOKS_LIKE_NAME.fullmatch(inner.strip()):
        return f"{where}: field names are lowercase letters, digits and _, starting with a letter"
    return f"{where} may hold only a field name: no attributes, filters or expressions"


def longest_count(template: Template, withhold: Iterable[str] = ()) -> segments.SegmentCount:
    """The segment count of the costliest render of ``template``.

    Every field is filled to its ``max_length`` with the costliest character
    it may hold: two septets in GSM-7 (an extension character) or two UTF-16
    units in UCS-2 (an emoji), which no value within the declared limits can
    exceed. Both encodings are tried where a render could take either; the
    one with more segments is returned. Withheld fields count as
    :data:`WITHHELD`.
    """
    hidden = frozenset(withhold)
    literal = _join(template, hidden, lambda f: "")
    open_fields = [f for f in template.fields_used if f.name not in hidden]
    candidates: list[segments.SegmentCount] = []
    if segments.is_gsm7(literal):
        candidates.append(segments.count(_fill(template, hidden, lambda f: _GSM7_COSTLIEST)))
    if not segments.is_gsm7(literal) or any(not f.gsm7_only for f in open_fields):
        candidates.append(
            segments.count(
                _fill(
                    template,
                    hidden,
                    lambda f: _GSM7_COSTLIEST if f.gsm7_only else _UCS2_COSTLIEST,
                )
            )
        )
    return max(candidates, key=lambda c: (c.segments, c.encoding == "UCS-2"))


def longest_segments(template: Template, withhold: Iterable[str] = ()) -> int:
    """The most SMS segments any render of ``template`` can take (see :func:`longest_count`)."""
    return longest_count(template, withhold).segments


def _fill(template: Template, hidden: frozenset[str], filler: Callable[[Field], str]) -> str:
    """Every open field at its full length of its costliest character."""
    return _join(template, hidden, lambda f: filler(f) * f.max_length)


def _join(template: Template, hidden: frozenset[str], value: Callable[[Field], str]) -> str:
    """The template's text with each field as ``value(field)``, withheld ones as WITHHELD."""
    return "".join(
        piece if isinstance(piece, str) else WITHHELD if piece.name in hidden else value(piece)
        for piece in template.pieces
    )
