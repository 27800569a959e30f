"""M3: the live segment counter under the composer.

Recounted on every key (``core.segments.count`` is pure and cheap), so the
agent sees the encoding flip to UCS-2 the moment a curly quote or an emoji
goes in, and what that costs.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from core import segments
from core.segments import SegmentCount, SmartEncoding


def count_text(
    count: SegmentCount, *, cost_per_segment: float, currency: str, offer: SmartEncoding | None
) -> Content:
    """One line of figures, and a second line when a look-alike rewrite saves segments."""
    parts = count.segments
    cost = parts * cost_per_segment
    pieces: list[str | tuple[str, str]] = [
        (count.encoding, "bold" if count.encoding == "GSM-7" else "bold $text-warning"),
        f" · {count.characters} chars · ",
        (f"{parts} segment{'' if parts == 1 else 's'}", "bold"),
        f" · {count.units_left} {count.unit_name} left · ≈ {cost:.4f} {currency}",
    ]
    if offer is not None:
        saved = offer.segments_saved
        pieces += [
            "\n",
            (
                f"ctrl+e: replace {offer.replaced} look-alike character"
                f"{'' if offer.replaced == 1 else 's'} → saves {saved} segment"
                f"{'' if saved == 1 else 's'}",
                "bold $text-accent",
            ),
        ]
    return Content.assemble(*pieces)


class SegmentCounter(Static):
    """Encoding, characters, segments, units left in this segment and estimated cost."""

    DEFAULT_CSS = """
    SegmentCounter { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cost_per_segment = 0.0
        self.currency = ""
        self.offer: SmartEncoding | None = None
        """The GSM-7 rewrite on offer for the text last counted, if it saves a segment."""
        self.current: SegmentCount = segments.count("")

    def on_mount(self) -> None:
        self.recount("")

    def set_price(self, cost_per_segment: float, currency: str) -> None:
        self.cost_per_segment = cost_per_segment
        self.currency = currency

    def recount(self, text: str) -> SmartEncoding | None:
        """Count ``text`` and show it; returns the rewrite on offer, if any."""
        self.current = segments.count(text)
        self.offer = segments.smart_encoding(text)
        self.update(
            count_text(
                self.current,
                cost_per_segment=self.cost_per_segment,
                currency=self.currency,
                offer=self.offer,
            )
        )
        return self.offer
