"""S1: the inbound hook that marks replies to a campaign.

A message from a phone that was sent a campaign text from the number it
writes to answers the most recent such campaign: the inbound message is
marked with the campaign (it stays in its normal conversation) and the
target gets ``replied_at`` (its first reply's time). A STOP never reaches
this hook (the keyword hook ends the chain): ``core.campaigns.optouts``
attributes those.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.sms import inbound

# Per message: the target of the most recent campaign text to its phone from our number.
_FIND = """SELECT j.value ->> 0 AS message_id, (
    SELECT t.id FROM campaign_targets t JOIN campaigns c ON c.id = t.campaign_id
      JOIN messages m ON m.id = t.message_id
    WHERE t.phone = j.value ->> 1 AND t.state = 'queued' AND c.sender = j.value ->> 2
    ORDER BY m.created_at DESC, t.id DESC LIMIT 1) AS target_id
 FROM json_each(:messages) AS j"""


# Only a campaign that has run has texted anyone. Asked of the few campaign rows, not
# the targets: until one has, the lookup below (bench.webhooks' MO messages went from
# 0.43 to 0.38 of bare aiohttp with it) is skipped.
_ANY_SENT = "SELECT EXISTS (SELECT 1 FROM campaigns WHERE started_at IS NOT NULL)"


async def _mark(message: inbound.Inbound) -> None:
    await _mark_many([message])


async def _mark_many(messages: Sequence[inbound.Inbound]) -> list[inbound.HookResult | None]:
    """At most three statements for a group, whatever its size; none before any
    campaign has started (its one read goes ahead, with receiving's look-up)."""
    if messages:
        tx = messages[0].tx
        [[any_sent]] = messages[0].ahead[CAMPAIGN_REPLIES.name]
        if not any_sent:
            return [None] * len(messages)
        found = await tx.fetchall(
            _FIND,
            {"messages": json.dumps([[m.message_id, m.phone, m.number.e164] for m in messages])},
        )
        hits = [[r["message_id"], r["target_id"]] for r in found if r["target_id"] is not None]
        if hits:
            replied = await tx.fetchall(
                "UPDATE campaign_targets SET replied_at = coalesce(replied_at, :now),"
                " updated_at = :now FROM json_each(:hits) AS j"
                " WHERE campaign_targets.id = j.value ->> 1 RETURNING id, campaign_id",
                {"hits": json.dumps(hits), "now": tx.now_ms},
            )
            campaign_of = {r["id"]: r["campaign_id"] for r in replied}
            await tx.execute(
                "UPDATE messages SET campaign_id = j.value ->> 1 FROM json_each(?) AS j"
                " WHERE messages.id = j.value ->> 0",
                (json.dumps([[m, campaign_of[t]] for m, t in hits]),),
            )
            await tx.emit_many(
                "campaign.replied",
                "campaign",
                [(campaign_of[t], {"message_id": m}) for m, t in hits],
            )
    return [None] * len(messages)


def _ahead(arriving: Sequence[inbound.Arriving]) -> inbound.Read:
    return _ANY_SENT, ()


CAMPAIGN_REPLIES = inbound.Hook("campaign_replies", _mark, _mark_many, _ahead)
