"""The offer bar: conversations routing offers this agent, with a countdown (issue #10 item 6).

Above the tabs, so an offer shows whichever tab is open. It follows the
change feed: ``offer.made`` for this agent reads that offer by id through
core (the contact, the queue, the due times); ``offer.accepted``,
``.refused``, ``.expired`` and ``.withdrawn`` take it away, the last two
with a notice saying why. The countdown is drawn from the clock once a
second from the due times read with the offer: no query per tick.

Several offers at once (a profile taking several conversations): the bar
lists them oldest first and marks the current one (▶, "2 of 3"); F5 and F6
answer the current one, F10 makes the next one current (round the list).
The current offer is the oldest until F10 is pressed, and again once the
one chosen is gone. Accepting (F5) opens the conversation in the thread.
Refusing (F6) is core's to allow (the permission profile's *may refuse*):
the bar asks core's rule (``Action.REFUSE_OFFER``) whether to offer the key
at all, and core refuses it anyway if the profile changed meanwhile.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.widget import Widget

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.text import literal
from core.errors import SwitchboardError
from core.people.authz import Action, OfferAccess, allows
from core.routing import offered, offers
from core.routing.offered import OfferShown

SHOWN = 3
"""Offers listed at once (a profile taking several at a time); the rest are counted."""

_ENDED = {
    "offer.expired": "expired: nobody answered in time, so it went to the next agent",
    "offer.withdrawn": "was withdrawn: the conversation was taken another way or went public",
}


class OfferBar(ReportsFailures, Widget):
    """The offers waiting for this agent's answer, oldest first; F5 accepts the current
    one, F6 refuses it, F10 moves to the next."""

    DEFAULT_CSS = """
    OfferBar {
        height: auto; max-height: 5; padding: 0 1; display: none;
        background: $warning-muted; color: $text; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(self, context: ConsoleContext, *, id: str = "offer-bar") -> None:
        super().__init__(id=id)
        self.context = context
        self.offers: list[OfferShown] = []
        self.drawn = ""
        """What was last drawn (the tests read the countdown the agent sees)."""
        self._answering: set[int] = set()
        """Offers this console accepts (not told as if accepted for the agent)."""
        self.current_id: int | None = None
        """The offer F5 and F6 answer (F10 moves it); None or gone: the oldest."""

    async def on_mount(self) -> None:
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        # The countdown: drawn again each second from the clock, no query.
        self.set_interval(1.0, self._tick, name="offer-countdown")
        await self.reload()

    # --- what it shows ------------------------------------------------------

    @property
    def first(self) -> OfferShown | None:
        return self.offers[0] if self.offers else None

    @property
    def current(self) -> OfferShown | None:
        """The offer F5 and F6 answer."""
        return next((o for o in self.offers if o.id == self.current_id), self.first)

    def next_offer(self) -> None:
        """Make the next offer current (after the last: the oldest)."""
        current = self.current
        if current is None:
            return
        index = self.offers.index(current)
        self.current_id = self.offers[(index + 1) % len(self.offers)].id
        self.refresh()

    def may_refuse(self, offer: OfferShown) -> bool:
        """Whether to offer F6: core's rule, on the principal as last loaded."""
        return allows(self.context.actor, Action.REFUSE_OFFER, OfferAccess(offer.agent_id))

    def render(self) -> Text:
        """Two lines an offer: who, queue, countdown; then the keys and their latest text.

        Lines are cut, never wrapped, so the bar keeps its height at 80 columns.
        """
        now = self.context.clock.now()
        text = Text(no_wrap=True, overflow="ellipsis")
        current = self.current
        position = self.offers.index(current) if current is not None else 0
        # The offers in view: from the oldest, moved on so the current one shows.
        start = max(0, position - SHOWN + 1)
        for index, offer in enumerate(self.offers[start : start + SHOWN]):
            if index:
                text.append("\n")
            text.append("▶ Offer " if offer is current else "  Offer ", style="bold")
            text.append_text(literal(offer.contact, style="bold"))
            if offer.contact != offer.phone:
                text.append(f" {offer.phone}")
            text.append(f"  {offer.seconds_left(now)} s left", style="bold")
            auto = offer.seconds_to_auto_accept(now)
            if auto is not None:
                text.append(f", auto-accept in {auto} s")
            if offer.queue:
                text.append("  queue ", style="dim")
                text.append_text(literal(offer.queue))
            if offer is current:
                text.append("\n  " + self._keys(offer, position), style="dim")
                if offer.last_text:
                    text.append("  “")
                    text.append_text(literal(offer.last_text, style="italic"))
                    text.append("”")
        hidden = len(self.offers) - min(SHOWN, len(self.offers))
        if hidden:
            text.append(f"\n  …and {hidden} more")
        self.drawn = text.plain
        return text

    def _keys(self, offer: OfferShown, position: int) -> str:
        keys = ["F5 accept"]
        if self.may_refuse(offer):
            keys.append("F6 refuse")
        if len(self.offers) > 1:
            keys.append(f"F10 next ({position + 1} of {len(self.offers)})")
        return " · ".join(keys)

    def _tick(self) -> None:
        if self.offers:
            self.refresh()

    def _show(self, found: list[OfferShown]) -> None:
        before = [o.id for o in self.offers]
        self.offers = found
        self.display = bool(found)
        # Its height follows the number of offers; laying the screen out again for
        # a refreshed countdown would delay the agent's next key.
        self.refresh(layout=len(found) != len(before))
        if [o.id for o in found] != before:
            self.app.refresh_bindings()  # F5 / F6 come and go with the offers

    async def reload(self) -> None:
        self._show(await offered.pending(self.context.db, self.context.actor))

    # --- live ---------------------------------------------------------------

    async def on_changes(self, changes: Changes) -> None:
        me = self.context.actor.id
        if me is None:
            return
        if changes.missed:
            await self.reload()
            return
        found = list(self.offers)
        for event in changes.events:
            if not event.kind.startswith("offer.") or event.data.get("agent_id") != me:
                continue
            offer_id = event.entity_id
            if event.kind == "offer.made" and offer_id is not None:
                try:
                    made = await offered.get(self.context.db, self.context.actor, offer_id)
                except SwitchboardError:
                    continue  # gone meanwhile, or no longer this agent's to answer
                if made.status == "pending" and all(o.id != made.id for o in found):
                    found.append(made)
                continue
            ended = next((o for o in found if o.id == offer_id), None)
            found = [o for o in found if o.id != offer_id]
            if offer_id in self._answering or ended is None:
                continue
            if event.kind in _ENDED:
                self.notify(
                    f"The offer of {ended.contact} {_ENDED[event.kind]}",
                    title="Offer gone",
                    severity="warning",
                )
            elif event.kind == "offer.accepted":
                # Accepted for the agent: their profile auto-accepts.
                self.notify(
                    f"Accepted for you (auto-accept): the conversation with {ended.contact}",
                    title="Offer accepted",
                )
                await self.app.open_conversation(ended.conversation_id)  # type: ignore[attr-defined]
        self._show(found)

    # --- answers ------------------------------------------------------------

    @work(exclusive=True, group="offer-answer", exit_on_error=False, description="accept the offer")
    async def accept(self) -> None:
        offer = self.current
        if offer is None:
            self.notify("No offer is waiting for you.")
            return
        self._answering.add(offer.id)
        try:
            await offers.accept(self.context.db, self.context.actor, offer.id)
        finally:
            # Whatever the answer, it is no longer waiting (taken, expired): the
            # feed's event for it then changes nothing here.
            self._show([o for o in self.offers if o.id != offer.id])
        self.notify(f"You have the conversation with {offer.contact}", title="Offer accepted")
        await self.app.open_conversation(offer.conversation_id)  # type: ignore[attr-defined]

    @work(exclusive=True, group="offer-answer", exit_on_error=False, description="refuse the offer")
    async def refuse(self) -> None:
        offer = self.current
        if offer is None:
            self.notify("No offer is waiting for you.")
            return
        # A profile without *may refuse* is refused by core, with its reason (the app
        # tells it); the offer then stays, still counting down. The feed's
        # offer.refused only takes it away: no notice but this one.
        await offers.refuse(self.context.db, self.context.actor, offer.id)
        self._show([o for o in self.offers if o.id != offer.id])
        self.notify(f"Refused: {offer.contact} goes to the next agent", title="Offer refused")
