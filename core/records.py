"""``@record``: ``@dataclass(frozen=True, slots=True)``, made at a fraction of the cost.

On Python 3.11 a frozen, slotted dataclass compiles six small functions
(``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``,
``__delattr__``) with six calls to ``exec``: about 0.6 ms a class, and the
send path alone defines some fifty. That was a fifth of `switchboard send`'s
start-up (issue #9). ``record`` lets ``dataclasses`` do the bookkeeping that
costs little (fields, slots, ``__match_args__``; ``fields()``, ``replace()``
and ``asdict()`` work as before), compiles ``__init__`` only (a generic one
would make every instance slower to build), and makes the other five from
closures shared in shape by every class: about 0.1 ms a class.

The methods behave as the dataclass ones: ``__init__`` takes the fields in
order (defaults, ``field(default_factory=...)``, ``__post_init__``), the
instances compare and hash by their compared fields, assigning or deleting a
field raises ``FrozenInstanceError``, and ``repr`` leaves out ``repr=False``
fields. Not supported, and nothing here uses them: ``InitVar``, and
``kw_only`` or ``init=False`` fields (these two are refused).
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

_HAS_FACTORY = object()
"""The default an ``__init__`` argument has when its field has a default factory."""


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """A frozen, slotted dataclass (see the module's docstring)."""
    if not cls.__doc__:  # dataclass would describe the class with inspect.signature: slow
        cls.__doc__ = f"{cls.__name__}({', '.join(inspect.get_annotations(cls))})"
    made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=True)
    every = dataclasses.fields(made)
    for f in every:
        if not f.init or f.kw_only is True:
            raise TypeError(f"@record {cls.__qualname__}.{f.name}: init=False and kw_only fields")
    names = tuple(f.name for f in every)
    env: dict[str, Any] = {"__setattr": object.__setattr__, "__factory_marker": _HAS_FACTORY}
    args, body = ["self"], []
    for f in every:
        if f.default is not dataclasses.MISSING:
            env[f"__default_{f.name}"] = f.default
            args.append(f"{f.name}=__default_{f.name}")
            value = f.name
        elif f.default_factory is not dataclasses.MISSING:
            env[f"__factory_{f.name}"] = f.default_factory
            args.append(f"{f.name}=__factory_marker")
            value = f"__factory_{f.name}() if {f.name} is __factory_marker else {f.name}"
        else:
            args.append(f.name)
            value = f.name
        body.append(f"  __setattr(self, {f.name!r}, {value})")
    if hasattr(made, "__post_init__"):
        body.append("  self.__post_init__()")
    # The text is made of the class's own field names (identifiers), nothing from outside.
    exec(f"def __init__({', '.join(args)}):\n" + ("\n".join(body) or "  pass"), env)
    methods = {
        "__init__": env["__init__"],
        **_shared_methods(made, names, [f.name for f in every if f.compare]),
        "__repr__": _repr_method([f.name for f in every if f.repr]),
    }
    for name, function in methods.items():
        if name not in cls.__dict__:  # as dataclass: a method the class defines is kept
            function.__qualname__ = f"{made.__qualname__}.{name}"
            setattr(made, name, function)
    # A frozen instance is copied and unpickled field by field, past its __setattr__.
    made.__getstate__ = _getstate
    made.__setstate__ = _setstate
    result: type[T] = made
    return result


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)


def _shared_methods(cls: Any, names: tuple[str, ...], compared: list[str]) -> dict[str, Any]:
    """__eq__, __hash__, __setattr__, __delattr__: closures, so nothing is compiled."""
    values: Callable[[Any], Any] = (
        (lambda obj: ()) if not compared else operator.attrgetter(*compared)
    )

    def eq(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    def hash_(self: Any) -> int:
        return hash(values(self))

    def setattr_(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def delattr_(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return {"__eq__": eq, "__hash__": hash_, "__setattr__": setattr_, "__delattr__": delattr_}


def _repr_method(shown: list[str]) -> Callable[[Any], str]:
    def repr_(self: Any) -> str:
        inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inside})"

    return repr_
