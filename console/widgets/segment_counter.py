"""M3: the live segment counter under the composer.

Recounted on every key (``core.sms.segments.count`` is pure and cheap), so the
agent sees the encoding flip to UCS-2 the moment a curly quote or an emoji
goes in, and what that costs. It counts what will be sent: when the opt-out
line is due on this number (``core.sms.outgoing``), the line is counted too.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.widgets import steady
from core.sms import outgoing, segments
from core.sms.segments import SegmentCount, SmartEncoding
from core.text import counted

NOTICE_LINE = "+ the opt-out line (first SMS to this number)"


def count_text(
    count: SegmentCount,
    *,
    cost_per_segment: float,
    currency: str,
    offer: SmartEncoding | None,
    with_notice: bool = False,
) -> Content:
    """One line of figures; more when the opt-out line is counted or a rewrite saves segments."""
    parts = count.segments
    cost = parts * cost_per_segment
    pieces: list[str | tuple[str, str]] = [
        (count.encoding, "bold" if count.encoding == "GSM-7" else "bold $text-warning"),
        f" · {count.characters} chars · ",
        (counted(parts, "segment"), "bold"),
        f" · {count.units_left} {count.unit_name} left · ≈ {cost:.4f} {currency}",
    ]
    if with_notice:
        pieces += ["\n", (NOTICE_LINE, "italic")]
    if offer is not None:
        saved = offer.segments_saved
        pieces += [
            "\n",
            (
                f"ctrl+e: replace {counted(offer.replaced, 'look-alike character')}"
                f" → saves {counted(saved, 'segment')}",
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
        """The GSM-7 rewrite of the body last counted, if it saves a segment."""
        self.current: SegmentCount = segments.count("")
        self.notice: str | None = None
        """The opt-out line the next SMS to this number carries, or None."""

    def on_mount(self) -> None:
        self.recount("")

    def set_price(self, cost_per_segment: float, currency: str) -> None:
        self.cost_per_segment = cost_per_segment
        self.currency = currency

    def set_notice(self, notice: str | None) -> None:
        self.notice = notice

    def recount(self, body: str) -> SmartEncoding | None:
        """Count what ``body`` will be sent as and show it; returns the rewrite on offer, if any."""
        # Nothing typed yet is nothing to send: the line alone is not shown as the message.
        notice = self.notice if body.strip() else None
        self.current = segments.count(outgoing.with_notice(body, notice))
        self.offer = outgoing.smart_encoding_for(body, notice)
        steady.update(
            self,
            count_text(
                self.current,
                cost_per_segment=self.cost_per_segment,
                currency=self.currency,
                offer=self.offer,
                with_notice=notice is not None,
            ),
        )
        return self.offer
