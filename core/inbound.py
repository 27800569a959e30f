"""Inbound hooks: what happens to an inbound SMS once it is stored, as an ordered list.

``messaging.receive`` stores the message (contact, conversation, message,
attachments, last-inbound times), then runs its hooks in order inside the
same transaction, then announces the message on the change feed (M6). Each
hook gets an ``Inbound`` (the transaction and what is known of the message)
and may return a ``HookResult``: the automatic replies it queued, and
whether the chain stops there (a STOP: nothing else may act on an opted-out
number's message).

The list is composed in one place, ``messaging.default_hooks()``; a
capability (case notes, campaign replies, routing offers, new-chat alerts)
composes its own list around it and passes it as ``receive(..., hooks=...)``:
messaging.py does not change. The keyword hook (opt-out, opt-in, help) must
come first, so an opt-out is recorded before any capability sees the message
and stops the rest; ``check_hooks`` refuses a list that does not start with it.

A hook that raises rolls back the whole inbound message, so a provider's
retry delivers it again. The keyword hook contains its own reply failures
(``messaging._queue_reply``), so an opt-out does not depend on a reply text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.db import Tx
from core.errors import InvalidInput
from core.numbers import Number
from core.optout import Intent
from core.settings import Settings


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class HookResult:
    replies: tuple[int, ...] = ()
    """IDs of automatic replies the hook queued."""
    stop: bool = False
    """The hooks after this one do not run (an opt-out)."""


@dataclass(frozen=True, slots=True)
class Hook:
    name: str
    """Unique in a list: it names the hook in errors and logs."""
    run: Callable[[Inbound], Awaitable[HookResult | None]]

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
    replies: list[int] = []
    for hook in hooks:
        result = await hook.run(inbound)
        if result is None:
            continue
        replies.extend(result.replies)
        if result.stop:
            break
    return tuple(replies)
