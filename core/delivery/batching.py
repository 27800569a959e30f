"""Which claimed messages may go to the provider as one batch: a pure rule.

``plan(rows, max_recipients)`` returns what to hand over, every row exactly
once: an ``OutboundBatch`` for rows that share sender, text, purpose, parts
limit and attempt, carry no media, and go to different numbers; the row
itself (an ``OutboundSms``) for a row that shares with none.

The text shared is the body, or, for rows queued with a template in the
provider's placeholder form (a campaign's, ``core.delivery.placeholders``),
that template: such rows form one batch though their bodies differ, and the
batch carries each recipient's values (``OutboundBatch.parameters``). A row
whose template and values do not give exactly its body, or whose values
hold ``${``, is planned by its body, as a row without a template is.

Why each part of the key:

* sender, text, parts limit: a batch is one text from one number;
* purpose: rows of different purposes obey different rules after the send
  (only conversation messages touch conversations), so they never mix;
* media: an MMS carries a signed link for its own message ID;
* attempt: a batch's rows succeed or fail together, so a retried batch comes
  back with one attempt count. Keeping it apart from rows on another attempt
  means it is made again from the same rows, under the same reference, and
  the provider's lookup on attempt > 1 (by reference) finds the earlier try.
  Were fresh rows let in, the retried batch would name recipients the
  earlier one did not, and the lookup could not take it for the same batch.
* recipient: a delivery report names a batch and a recipient only, so two
  rows to one number in one batch could not be told apart; the second goes
  into another batch.

Rows are taken in message ID order and each goes into the first batch of its
key that has room and lacks its recipient, so the same rows always make the
same batches, each named by its lowest message ID (``reference``).

What this cannot keep: when only some of a failed batch's rows come back
(one was cancelled, or was claimed later), the batch made again names fewer
recipients than the one Sinch may already hold; the Sinch gateway takes the
earlier batch when it holds every recipient asked for, so those rows are not
sent twice. A row that comes back alone goes as a single message under its
own ID and is not looked up under the batch it was in.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from core.delivery import placeholders
from core.delivery.gateway import OutboundBatch, OutboundSms

REFERENCE_PREFIX = "batch-"
"""A batch's reference is this and its lowest message ID: never all digits, so never
read as one message's ID (a provider echoes it back in every report), and the same
for the same rows on every attempt."""


def reference(lowest_message_id: int) -> str:
    return f"{REFERENCE_PREFIX}{lowest_message_id}"


def plan(rows: Sequence[OutboundSms], max_recipients: int) -> list[OutboundSms | OutboundBatch]:
    """What to send for these claimed rows; batches of at most ``max_recipients``."""
    planned: list[OutboundSms | OutboundBatch] = []
    ordered = sorted(rows, key=_by_id)
    if max_recipients < 2:
        planned.extend(ordered)
        return planned
    groups: dict[Hashable, _Group] = {}
    for sms in ordered:
        if sms.recipients:  # a campaign's batch: made whole by the campaign
            planned.append(campaign_batch(sms))
            continue
        if sms.media:
            planned.append(sms)
            continue
        text = _template_of(sms)
        key = (sms.sender, text is not None, text or sms.body, sms.purpose, sms.max_parts,
               sms.attempt)  # fmt: skip
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(max_recipients)
        group.place(sms)
    for group in groups.values():
        for members in group.batches:
            planned.append(members[0] if len(members) == 1 else _batch(members))
    planned.sort(key=_first_id)
    return planned


class _Group:
    """The batches of one key, filled first-fit in message ID order."""

    __slots__ = ("_full_below", "_max", "_next_for", "batches")

    def __init__(self, max_recipients: int) -> None:
        self._max = max_recipients
        self.batches: list[list[OutboundSms]] = []
        self._full_below = 0
        """Every batch before this index is full (batches only ever fill)."""
        self._next_for: dict[str, int] = {}
        """Per recipient, the first batch that may lack it: it is in none from there on,
        so the first batch with room from there is the first that fits."""

    def place(self, sms: OutboundSms) -> None:
        while (
            self._full_below < len(self.batches)
            and len(self.batches[self._full_below]) >= self._max
        ):
            self._full_below += 1
        index = max(self._full_below, self._next_for.get(sms.recipient, 0))
        while index < len(self.batches) and len(self.batches[index]) >= self._max:
            index += 1
        if index == len(self.batches):
            self.batches.append([])
        self.batches[index].append(sms)
        self._next_for[sms.recipient] = index + 1


def _template_of(sms: OutboundSms) -> str | None:
    """The row's template when it may go with parameters, else None (by its body)."""
    if not sms.template:
        return None
    return sms.template if placeholders.fills_to(sms.template, dict(sms.values), sms.body) else None


def _batch(members: list[OutboundSms]) -> OutboundBatch:
    first = members[0]
    template = _template_of(first)
    parameters: dict[str, dict[str, str]] = {}
    if template is not None:
        parameters = _parameters(template, [(m.recipient, m.values) for m in members])
    return OutboundBatch(
        reference=reference(first.message_id),
        sender=first.sender,
        body=first.body if template is None else template,
        segments=max(m.segments for m in members),
        rows=tuple((m.message_id, m.recipient) for m in members),
        max_parts=first.max_parts,
        attempt=first.attempt,
        purpose=first.purpose,
        parameters=parameters,
    )


def campaign_batch(sms: OutboundSms) -> OutboundBatch:
    """A campaign's batch row as the provider batch it is: its template, and each
    recipient's values for the names the template uses."""
    return OutboundBatch(
        reference=reference(sms.message_id),
        sender=sms.sender,
        body=sms.template,
        segments=sms.segments,
        rows=tuple((sms.message_id, recipient) for recipient, _ in sms.recipients),
        max_parts=sms.max_parts,
        attempt=sms.attempt,
        purpose=sms.purpose,
        parameters=_parameters(sms.template, sms.recipients),
    )


def _parameters(
    template: str, recipients: Sequence[tuple[str, tuple[tuple[str, str], ...]]]
) -> dict[str, dict[str, str]]:
    """Per name the template uses, each recipient's value (a value it does not show is
    not sent; one missing is empty, as the provider's default)."""
    parameters: dict[str, dict[str, str]] = {
        name: {} for name in sorted(placeholders.names_in(template))
    }
    for recipient, values in recipients:
        given = dict(values)
        for name, per_recipient in parameters.items():
            per_recipient[recipient] = given.get(name, "")
    return parameters


def _by_id(sms: OutboundSms) -> int:
    return sms.message_id


def _first_id(item: OutboundSms | OutboundBatch) -> int:
    return item.message_id if isinstance(item, OutboundSms) else item.rows[0][0]
