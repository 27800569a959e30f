"""The template renderer (core/templates.py): table tests, then Hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.sms.segments import GSM7_BASIC, GSM7_EXTENSION, count
from core.templates import (
    WITHHELD,
    Field,
    Fields,
    Template,
    compile_template,
    longest_count,
    longest_segments,
    names_in,
)

FIELDS = Fields(
    [
        Field("first_name", "Caller first name", 50),
        Field("last_name", "Caller last name", 50),
        Field("caller_id", "Caller ID", 16, gsm7_only=True),
        Field("message", "Message", 500, phi=True),
        Field("outcome", "Outcome", 40, gsm7_only=True),
    ]
)


def compiled(source: str) -> Template:
    return compile_template(source, FIELDS)


# --- compile: what a template may hold --------------------------------------------------


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("Call from {{first_name}}", ["first_name"]),
        ("{{ first_name }} {{last_name}}", ["first_name", "last_name"]),
        ("{{caller_id}}{{caller_id}}", ["caller_id"]),
        ("No fields at all", []),
        # Single braces are text: only {{ and }} mean something.
        ("Price {0} and {a} } {", []),
        ("{ {{outcome}} }", ["outcome"]),
        ("{{outcome}}}", ["outcome"]),
    ],
)
def test_compile_accepts_declared_fields(source: str, names: list[str]) -> None:
    template = compiled(source)
    assert [f.name for f in template.fields_used] == names
    assert template.source == source
    # What a kind whose fields are costly to find looks for before compiling.
    assert names_in(source) == tuple(names)


@pytest.mark.parametrize(
    ("source", "refusal"),
    [
        ("", "a template cannot be empty"),
        ("   \n ", "a template cannot be empty"),
        ("Hello {{", "the placeholder at character 7 is never closed with '}}'"),
        ("Hello {{first_name", "the placeholder at character 7 is never closed"),
        ("Hello {{first_name}", "never closed"),
        ("Hello }} there", "'}}' at character 7 closes no placeholder"),
        ("{{first_name}} }}", "closes no placeholder"),
        ("{{}}", "'{{}}' at character 1 has no field name"),
        ("{{   }}", "has no field name"),
        ("{{ a.b }}", "'{{ a.b }}' at character 1 may hold only a field name"),
        ("{{first_name.upper}}", "no attributes, filters or expressions"),
        ("{{a|b}}", "no attributes, filters or expressions"),
        ("{{first_name|upper}}", "no attributes, filters or expressions"),
        ("{{ first_name() }}", "no attributes, filters or expressions"),
        ("{{1+1}}", "no attributes, filters or expressions"),
        ("{{a{{b}}}}", "placeholders cannot be nested"),
        ("{{{first_name}}}", "placeholders cannot be nested"),
        ("{{First_Name}}", "field names are lowercase letters, digits and _"),
        ("{% for x in y %}{{x}}{% endfor %}", "unknown field 'x'"),
        ("x" * 20_001, "a template is at most 20000 characters, not 20001"),
        ("bad \ud800 text", "valid UTF-8"),
    ],
)
def test_compile_refuses_what_is_not_a_field_name(source: str, refusal: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compiled(source)
    assert refusal in str(caught.value)
    if not refusal.startswith("unknown field"):  # names_in knows no fields to refuse
        with pytest.raises(InvalidInput) as listed:
            names_in(source)
        assert str(listed.value) == str(caught.value)


def test_names_in_gives_each_placeholder_s_name_once_whatever_its_field() -> None:
    assert names_in("{{ zip }}, {{first_name}} {{zip}}") == ("zip", "first_name")


def test_unknown_field_is_refused_by_name_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        compiled("Hi {{first_name}}, from {{zip}}")
    assert str(caught.value) == (
        "unknown field 'zip'; the known fields are:"
        " first_name, last_name, caller_id, message, outcome"
    )


def test_unknown_field_suggests_the_close_one() -> None:
    with pytest.raises(
        InvalidInput, match=r"unknown field 'frist_name' \(did you mean first_name\?\)"
    ):
        compiled("Hi {{frist_name}}")


def test_with_no_fields_declared_every_placeholder_is_unknown() -> None:
    with pytest.raises(InvalidInput, match="unknown field 'name'; the known fields are: none"):
        compile_template("Hi {{name}}", Fields([]))


@pytest.mark.parametrize(
    ("field", "refusal"),
    [
        (lambda: Field("First", "First", 5), "field name 'First' must be 1-64 lowercase"),
        (lambda: Field("a.b", "A", 5), "field name 'a.b'"),
        (lambda: Field("_a", "A", 5), "starting with a letter"),
        (lambda: Field("a" * 65, "A", 5), "1-64"),
        (lambda: Field("a", " ", 5), "field a needs a label"),
        (lambda: Field("a", "A", 0), "max_length must be between 1 and 100000, not 0"),
    ],
)
def test_declaring_a_field_checks_it(field, refusal: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        field()
    assert refusal in str(caught.value)


def test_a_field_is_declared_once() -> None:
    with pytest.raises(InvalidInput, match="field a is declared twice"):
        Fields([Field("a", "A", 5), Field("a", "Again", 5)])


# --- render --------------------------------------------------------------------------


def test_render_replaces_each_placeholder_with_its_value() -> None:
    template = compiled("{{first_name}} {{last_name}} ({{caller_id}}): {{message}}")
    values = {
        "first_name": "Ann",
        "last_name": "Lee",
        "caller_id": "+12125550105",
        "message": "Call back",
    }
    assert template.render(values) == "Ann Lee (+12125550105): Call back"


def test_a_missing_value_renders_as_empty() -> None:
    assert compiled("[{{first_name}}|{{last_name}}]").render({"first_name": "Ann"}) == "[Ann|]"


def test_values_for_other_fields_are_ignored() -> None:
    assert compiled("{{outcome}}").render({"outcome": "Urgent", "message": "x"}) == "Urgent"


@pytest.mark.parametrize(
    "value",
    [
        "{{last_name}}",
        "{{ message }}",
        "{{",
        "}}",
        "{% if 1 %}x{% endif %}",
        "{{ 7*7 }}",
        "${last_name}",
        "{0}",
        "%(last_name)s",
        "__import__('os').system('id')",
    ],
)
def test_a_value_is_never_parsed_again(value: str) -> None:
    rendered = compiled("A{{first_name}}B{{last_name}}C").render(
        {"first_name": value, "last_name": "SECRET"}
    )
    assert rendered == f"A{value}BSECRETC"


def test_a_value_longer_than_its_field_is_refused() -> None:
    with pytest.raises(
        InvalidInput, match="the value of caller_id has 17 characters; the field holds at most 16"
    ):
        compiled("{{caller_id}}").render({"caller_id": "1" * 17})


def test_a_value_at_its_length_is_rendered() -> None:
    assert compiled("{{caller_id}}").render({"caller_id": "1" * 16}) == "1" * 16


def test_a_gsm7_field_refuses_other_characters() -> None:
    with pytest.raises(InvalidInput, match="the value of outcome must be GSM-7 text"):
        compiled("{{outcome}}").render({"outcome": "Urgent \N{GRINNING FACE}"})


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        (42, "the value of first_name must be text, not int"),
        ("\udc80", "the value of first_name is not valid text"),
    ],
)
def test_a_value_must_be_text(value: object, refusal: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compiled("{{first_name}}").render({"first_name": value})  # type: ignore[dict-item]
    assert refusal in str(caught.value)


def test_withheld_fields_render_as_the_marker() -> None:
    template = compiled("{{first_name}}: {{message}} / {{message}}")
    assert template.phi_fields == {"message"}
    rendered = template.render(
        {"first_name": "Ann", "message": "chest pain"}, withhold=template.phi_fields
    )
    assert rendered == f"Ann: {WITHHELD} / {WITHHELD}"


def test_a_withheld_field_is_not_checked_either() -> None:
    # Its value never leaves, so a value that breaks its rules does not stop the rest.
    assert compiled("{{caller_id}}").render({"caller_id": "x" * 99}, withhold={"caller_id"}) == (
        WITHHELD
    )


# --- the editor's field list ---------------------------------------------------------


def test_editor_lists_each_field_with_the_text_to_insert() -> None:
    listed = FIELDS.editor_fields()
    assert [(f.name, f.label, f.insert, f.phi) for f in listed] == [
        ("first_name", "Caller first name", "{{first_name}}", False),
        ("last_name", "Caller last name", "{{last_name}}", False),
        ("caller_id", "Caller ID", "{{caller_id}}", False),
        ("message", "Message", "{{message}}", True),
        ("outcome", "Outcome", "{{outcome}}", False),
    ]
    for entry in listed:
        assert compiled(entry.insert).render({entry.name: "v"}) == "v"


# --- the longest render's segments ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "withhold", "encoding", "units", "segments"),
    [
        # GSM-7 text and GSM-7 fields: each caller_id character at most 2 septets.
        ("Code {{caller_id}}", (), "GSM-7", 5 + 32, 1),
        # A field that may hold anything may hold emoji: UCS-2, 2 units each.
        ("Hi {{first_name}}", (), "UCS-2", 3 + 100, 2),
        # Text outside GSM-7 makes every render UCS-2; GSM-7 fields then cost 1 unit.
        ("Café ç {{caller_id}}", (), "UCS-2", 7 + 16, 1),
        # 500 emoji = 1000 units; 33 pairs fit in a 67-unit part: 16 parts (with "M: ").
        ("M: {{message}}", (), "UCS-2", 3 + 1000, 16),
        ("M: {{message}}", ("message",), "GSM-7", 3 + len(WITHHELD) + 2, 1),
    ],
)
def test_longest_count(
    source: str, withhold: tuple[str, ...], encoding: str, units: int, segments: int
) -> None:
    result = longest_count(compiled(source), withhold)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)
    assert longest_segments(compiled(source), withhold) == segments


def test_longest_count_is_a_render_that_can_happen() -> None:
    # The bound is reached, so it is no looser than it must be.
    template = compiled("Hi {{first_name}} {{caller_id}}")
    reached = template.render({"first_name": "\N{GRINNING FACE}" * 50, "caller_id": "€" * 16})
    assert longest_count(template) == count(reached)


def test_one_character_that_may_be_anything_makes_the_longest_ucs2() -> None:
    # 150 GSM-7 characters fit 2 parts even at 2 septets each; one more field
    # that may hold an emoji turns the whole message UCS-2: 152 units, 3 parts.
    fields = Fields([Field("code", "Code", 150, gsm7_only=True), Field("x", "X", 1)])
    template = compile_template("{{code}}{{x}}", fields)
    assert count("€" * 151).segments == 2
    result = longest_count(template)
    assert (result.encoding, result.units, result.segments) == ("UCS-2", 152, 3)
    assert longest_count(template, withhold={"x"}).encoding == "GSM-7"


# --- properties ----------------------------------------------------------------------

_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_GSM7 = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
# Text a template may hold between placeholders: anything but braces (a brace
# next to a placeholder would make it a different, malformed one) and "§",
# which only withheld values hold.
_LITERAL = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="{}§"), min_size=1, max_size=20
)
_COSTLY = st.sampled_from(["€", "^", "{", "\N{GRINNING FACE}", "ç", "é", "a", " ", "\n", "}"])
_TRICKS = st.sampled_from(["{{", "}}", "{{x}}", "{{ a }}", "{% x %}", "${a}", "%s", "{0}"])


@st.composite
def declared(draw: st.DrawFn) -> Fields:
    names = draw(st.lists(_NAMES, min_size=1, max_size=5, unique=True))
    return Fields(
        Field(
            name,
            name.upper(),
            draw(st.integers(1, 120)),
            phi=draw(st.booleans()),
            gsm7_only=draw(st.booleans()),
        )
        for name in names
    )


@st.composite
def templates(draw: st.DrawFn) -> tuple[Fields, list[str | Field], Template]:
    fields = draw(declared())
    pieces = draw(
        st.lists(st.one_of(_LITERAL, st.sampled_from(list(fields))), min_size=1, max_size=8)
    )
    if not any(isinstance(p, Field) or p.strip() for p in pieces):
        pieces.append("x")
    source = "".join(p if isinstance(p, str) else p.placeholder for p in pieces)
    return fields, pieces, compile_template(source, fields)


def value_for(
    field: Field, fields: Fields | None = None, excluded: str = "§"
) -> st.SearchStrategy[str]:
    """Values within ``field``'s limits: mixed text, placeholders of the declared
    fields and template syntax, or the field full of one costly character."""
    tricks = _TRICKS
    if fields is not None:
        tricks = st.one_of(_TRICKS, st.sampled_from([f.placeholder for f in fields]))
    if field.gsm7_only:
        alphabet = st.sampled_from(_GSM7.replace(excluded, ""))
        costly = st.sampled_from(["€", "{", "a"])
    else:
        alphabet = st.one_of(
            _COSTLY, st.characters(exclude_categories=("Cs",), exclude_characters=excluded)
        )
        costly = _COSTLY
    mixed = st.lists(st.one_of(alphabet, tricks), max_size=field.max_length).map(
        lambda p: "".join(p)[: field.max_length]
    )
    return st.one_of(mixed, costly.map(lambda ch: ch * field.max_length))


@st.composite
def rendered_cases(draw: st.DrawFn):
    fields, pieces, template = draw(templates())
    values = {f.name: draw(value_for(f, fields)) for f in fields}
    return pieces, template, values


@settings(max_examples=300)
@given(rendered_cases())
def test_rendering_is_literals_and_values_never_evaluated(case) -> None:
    pieces, template, values = case
    expected = "".join(p if isinstance(p, str) else values[p.name] for p in pieces)
    assert template.render(values) == expected


@given(declared(), st.data())
def test_every_declared_field_round_trips(fields: Fields, data: st.DataObject) -> None:
    for entry in fields.editor_fields():
        field = fields[entry.name]
        value = data.draw(value_for(field))
        template = compile_template(entry.insert, fields)
        assert template.fields_used == (field,)
        assert template.render({field.name: value}) == value
        spaced = compile_template("{{ " + field.name + " }}", fields)
        assert spaced.render({field.name: value}) == value


@given(declared(), _NAMES)
def test_an_unknown_field_is_refused_by_name(fields: Fields, name: str) -> None:
    if name in fields:
        return
    with pytest.raises(InvalidInput) as caught:
        compile_template("Hi {{" + name + "}}", fields)
    message = str(caught.value)
    assert message.startswith(f"unknown field {name!r}")
    assert message.endswith("the known fields are: " + ", ".join(fields.names))


@settings(max_examples=300)
@given(templates(), st.data())
def test_withheld_fields_never_appear(case, data: st.DataObject) -> None:
    fields, pieces, template = case
    withhold = data.draw(st.sets(st.sampled_from(fields.names)))
    values = {}
    for field in fields:
        if field.name in withhold:
            # Marked with "§", which nothing else in the render holds, and
            # beyond the field's limits: a withheld value is never looked at.
            values[field.name] = "§" + data.draw(st.text(max_size=200))
        else:
            values[field.name] = data.draw(value_for(field, fields))
    rendered = template.render(values, withhold=withhold)
    assert "§" not in rendered
    hidden_uses = sum(1 for p in pieces if isinstance(p, Field) and p.name in withhold)
    assert rendered.count(WITHHELD) >= hidden_uses


@settings(max_examples=400)
@given(templates(), st.data())
def test_no_render_takes_more_segments_than_the_longest(case, data: st.DataObject) -> None:
    fields, _, template = case
    withhold = data.draw(st.sets(st.sampled_from(fields.names)))
    values = {f.name: data.draw(value_for(f, fields)) for f in fields}
    rendered = template.render(values, withhold=withhold)
    assert count(rendered).segments <= longest_segments(template, withhold)
