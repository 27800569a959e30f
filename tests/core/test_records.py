"""@record behaves as @dataclass(frozen=True, slots=True), which it stands in for."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from core.records import record


@record
class Made:
    number: int
    name: str = "n"
    tags: list[str] = field(default_factory=list)
    secret: str = field(default="s", repr=False)
    weight: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        if self.number < 0:
            raise ValueError("negative")


@dataclass(frozen=True, slots=True)
class Reference:
    number: int
    name: str = "n"
    tags: list[str] = field(default_factory=list)
    secret: str = field(default="s", repr=False)
    weight: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        if self.number < 0:
            raise ValueError("negative")


def test_it_is_built_and_shown_as_the_dataclass_is():
    assert repr(Made(1, "a", ["x"])) == repr(Reference(1, "a", ["x"])).replace("Reference", "Made")
    assert Made(1).tags == []
    assert Made(1).tags is not Made(1).tags  # a fresh list each time
    assert Made(number=2, name="b").name == "b"
    with pytest.raises(ValueError, match="negative"):
        Made(-1)
    with pytest.raises(TypeError, match="number"):
        Made()  # type: ignore[call-arg]
    assert Made.__match_args__ == Reference.__match_args__
    assert Made.__slots__ == Reference.__slots__


def test_it_compares_and_hashes_by_its_compared_fields():
    assert Made(1, "a") == Made(1, "a", weight=5.0)
    assert Made(1, "a") != Made(1, "b")
    assert Made(1) != Reference(1)  # another class, as dataclasses have it
    assert hash(Made(1, "a", ())) == hash(Made(1, "a", (), weight=2.0))  # type: ignore[arg-type]
    assert len({Made(1, tags=()), Made(1, tags=())}) == 1  # type: ignore[arg-type]


def test_it_is_frozen():
    made = Made(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="'number'"):
        made.number = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del made.name  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.other = 1  # type: ignore[attr-defined]


def test_the_dataclass_helpers_and_copies_work():
    made = Made(1, "a", ["x"])
    assert [f.name for f in dataclasses.fields(made)] == [
        "number",
        "name",
        "tags",
        "secret",
        "weight",
    ]
    assert dataclasses.replace(made, name="b") == Made(1, "b", ["x"])
    assert dataclasses.asdict(made) == dataclasses.asdict(Reference(1, "a", ["x"]))
    assert copy.copy(made) == made
    assert copy.deepcopy(made) == made
    assert pickle.loads(pickle.dumps(made)) == made


def test_fields_it_does_not_support_are_refused():
    with pytest.raises(TypeError, match="kw_only"):

        @record
        class KeywordOnly:
            number: int = field(kw_only=True)

    with pytest.raises(TypeError, match="init=False"):

        @record
        class NotInInit:
            number: int = field(default=0, init=False)
