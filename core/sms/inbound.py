"""Inbound hooks: what happens to an inbound SMS once it is stored, as an ordered list.

``receiving.receive`` stores the message (contact, conversation, message,
attachments, last-inbound times), then runs its hooks in order inside the
same transaction, then announces the message on the change feed (M6). Each
hook gets an ``Inbound`` (the transaction and what is known of the message)
and may return a ``HookResult``: the automatic replies it queued, and
whether the chain stops there (a STOP: nothing else may act on an opted-out
number's message).

The list is composed in one place, ``receiving.default_hooks()``; a
capability (case notes, campaign replies, routing offers, new-chat alerts)
composes its own list around it and passes it as ``receive(..., hooks=...)``:
receiving.py does not change. The keyword hook (opt-out, opt-in, help) must
come first, so an opt-out is recorded before any capability sees the message
and stops the rest; ``check_hooks`` refuses a list that does not start with it.

Several messages stored together (``receiving.receive_many``, a group
commit) go through the list hook by hook: each hook runs for every message
still in the chain, in arrival order, before the next hook runs. A hook may
give ``run_many`` to do that in a few statements instead of a few per
message; without it, ``run`` is called once per message.

A hook may also give ``ahead``: one read for the whole group that needs
nothing the group writes (neither its messages nor an earlier hook's
changes), made from what is known before anything is stored
(``Arriving``). It goes to the database with receiving's own look-up, in
the same trip, and its rows reach the hook as ``Inbound.ahead[hook name]``:
under load each trip waits for the event loop, and a group's transaction
was mostly its trips.

A hook that raises rolls back the whole inbound message (the whole group:
the caller then stores each message alone), so a provider's retry delivers
it again. The keyword hook contains its own reply failures
(``receiving._queue_reply``), so an opt-out does not depend on a reply text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from core.db import Tx
from core.errors import InvalidInput
from core.records import record
from core.settings import Settings
from core.sms.numbers import Number
from core.sms.optout import Intent


@record
class Inbound:
    """One stored inbound message, as the hooks see it."""

    tx: Tx
    message_id: int
    conversation_id: int
    contact_id: int
    phone: str
    """The sender, E.164."""
    number: Number
    """Our number it was sent to."""
    body: str
    intent: Intent
    keyword: str | None
    """The normalised keyword (STOP, START, HELP…) when the whole message is one."""
    settings: Settings
    ahead: Mapping[str, Sequence[Any]]
    """The rows of each hook's read ahead (``Hook.ahead``), by the hook's name."""


@record
class Arriving:
    """An inbound message as known before it is stored: what a read ahead may use."""

    phone: str
    """The sender, E.164."""
    number: str
    """Our number it was sent to, E.164."""
    body: str
    keyword: str | None


Read = tuple[str, Sequence[Any] | dict[str, Any]]
"""A statement and its parameters."""


@record
class HookResult:
    replies: tuple[int, ...] = ()
    """IDs of automatic replies the hook queued."""
    stop: bool = False
    """The hooks after this one do not run (an opt-out)."""


@record
class Hook:
    name: str
    """Unique in a list: it names the hook in errors and logs."""
    run: Callable[[Inbound], Awaitable[HookResult | None]]
    run_many: Callable[[Sequence[Inbound]], Awaitable[Sequence[HookResult | None]]] | None = None
    """Optional: ``run`` for several messages at once, one result each, in order. Each
    statement is a trip to the database thread, so a group's cost stays flat with it."""
    ahead: Callable[[Sequence[Arriving]], Read] | None = None
    """Optional: the group's read that needs nothing the group writes (see above)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInput("an inbound hook needs a name")


def check_hooks(hooks: Sequence[Hook], *, first: Hook) -> None:
    """The rules of a hook list: it starts with ``first`` (the keyword hook), names unique."""
    if not hooks or hooks[0] is not first:
        # Opt-out keywords are answered before any capability acts on the message,
        # and a STOP ends the chain: that only holds if their hook runs first.
        found = hooks[0].name if hooks else "nothing"
        raise InvalidInput(
            f"inbound hooks must start with the {first.name!r} hook (opt-out keywords first),"
            f" not {found!r}"
        )
    names = [hook.name for hook in hooks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInput(f"inbound hook names must be unique; repeated: {', '.join(duplicates)}")


async def run_hooks(hooks: Sequence[Hook], inbound: Inbound) -> tuple[int, ...]:
    """Run ``hooks`` in order; the replies they queued. Stops after a hook that says so."""
    return (await run_hooks_many(hooks, [inbound]))[0]


async def run_hooks_many(
    hooks: Sequence[Hook], messages: Sequence[Inbound]
) -> list[tuple[int, ...]]:
    """Run ``hooks`` in order over ``messages``; the replies queued for each, in order.

    A message leaves the chain after a hook that says stop for it; the others go on.
    """
    replies: list[list[int]] = [[] for _ in messages]
    active = list(range(len(messages)))
    for hook in hooks:
        if not active:
            break
        batch = [messages[i] for i in active]
        if hook.run_many is not None:
            results = list(await hook.run_many(batch))
            if len(results) != len(batch):
                raise RuntimeError(
                    f"inbound hook {hook.name!r} gave {len(results)} results for {len(batch)}"
                    " messages"
                )
        else:
            results = [await hook.run(message) for message in batch]
        going_on = []
        for i, result in zip(active, results, strict=True):
            if result is not None:
                replies[i].extend(result.replies)
            if result is None or not result.stop:
                going_on.append(i)
        active = going_on
    return [tuple(r) for r in replies]
