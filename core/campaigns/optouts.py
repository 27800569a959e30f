"""S1: a STOP answering a campaign counts as that campaign's opt-out.

The keyword hook must run first and ends the inbound chain for a STOP (no
capability may act on an opted-out number's message), so the replies hook
never sees one. The opt-out is read afterwards from its record instead:
every keyword opt-out is a ``consent_changes`` row naming the inbound
message. A STOP sent to one of our numbers is attributed to the most recent
campaign text queued to that phone from that number before it: the target's
``opted_out_at`` (and ``replied_at``) is set, and the STOP message is marked
with the campaign, as any other reply is.

The campaigns job does this each run for the consent changes it has not
seen; a process that starts again looks back ``LOOK_BACK`` and sets nothing
twice (each mark keeps its first time).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Final

from core.clock import to_ms
from core.db import Database

LOOK_BACK: Final = timedelta(days=7)
"""How far back a starting job reads opt-outs it may have missed while down."""

# Each new keyword opt-out with its inbound message and the target it answers.
_ATTRIBUTE = """WITH change AS (
    SELECT cc.id, cc.at, cc.phone, cc.message_id, n.e164 AS our_number
    FROM consent_changes cc JOIN messages i ON i.id = cc.message_id AND i.direction = 'in'
      JOIN conversations cv ON cv.id = i.conversation_id JOIN numbers n ON n.id = cv.number_id
    WHERE cc.id > :after AND cc.opted_out = 1 AND cc.keyword IS NOT NULL),
 hit AS (SELECT change.at, change.message_id, (
    SELECT t.id FROM campaign_targets t JOIN campaigns c ON c.id = t.campaign_id
      JOIN messages m ON m.id = t.message_id
    WHERE t.phone = change.phone AND t.state = 'queued' AND c.sender = change.our_number
      AND m.created_at <= change.at
    ORDER BY m.created_at DESC, t.id DESC LIMIT 1) AS target_id FROM change)
 SELECT hit.at, hit.message_id, hit.target_id, t.campaign_id
 FROM hit JOIN campaign_targets t ON t.id = hit.target_id"""


async def attribute(db: Database, after: int | None) -> int | None:
    """Attribute the keyword opt-outs recorded after consent change ``after`` (None:
    those of the last ``LOOK_BACK``); the last change seen, for the next call."""
    last: int | None = await db.scalar("SELECT max(id) FROM consent_changes")
    if last is None or (after is not None and last <= after):
        return after
    if after is None:
        since = to_ms(db.clock.now() - LOOK_BACK)
        found = await db.scalar("SELECT max(id) FROM consent_changes WHERE at < ?", (since,))
        after = found or 0
    async with db.transaction() as tx:
        hits = await tx.fetchall(_ATTRIBUTE, {"after": after})
        if hits:
            rows = [[h["target_id"], h["at"], h["message_id"], h["campaign_id"]] for h in hits]
            changed = await tx.fetchall(
                "UPDATE campaign_targets SET opted_out_at = coalesce(opted_out_at, j.value ->> 1),"
                " replied_at = coalesce(replied_at, j.value ->> 1), updated_at = :now"
                " FROM json_each(:rows) AS j WHERE campaign_targets.id = j.value ->> 0"
                " AND campaign_targets.opted_out_at IS NULL RETURNING campaign_id",
                {"rows": json.dumps(rows), "now": tx.now_ms},
            )
            await tx.execute(
                "UPDATE messages SET campaign_id = j.value ->> 3 FROM json_each(?) AS j"
                " WHERE messages.id = j.value ->> 2 AND messages.campaign_id IS NULL",
                (json.dumps(rows),),
            )
            counts: dict[int, int] = {}
            for r in changed:
                counts[r[0]] = counts.get(r[0], 0) + 1
            await tx.emit_many(
                "campaign.opted_out",
                "campaign",
                [(c, {"count": n}) for c, n in sorted(counts.items())],
            )
    return last
