"""S1: a campaign's progress and its results per target.

Counts come from the targets' states and, for queued targets, from their
outbox message's status (queued, sending, sent, delivered, failed): one
grouped read over the campaign's targets (100,000 of them are one query),
and one over its messages of the last minute for the rate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from core.campaigns.dispatch import OPTED_OUT
from core.clock import from_ms_or_none, to_ms
from core.db import Database
from core.delivery import MESSAGES_IN_ROWS
from core.errors import InvalidInput, NotFound
from core.people.authz import Action, Actor, CampaignAccess, authorize
from core.records import record

STATES: Final = ("waiting", "programmed", "queued", "skipped", "removed")

# A queued target's delivery: its own report's outcome when it went in a batch row
# (schema 14: the row is shared and stays 'sent'), else its outbox row's status;
# nothing for a target that is not queued (one skipped at the claim keeps the row).
# Over ``campaign_targets t LEFT JOIN messages m ON m.id = t.message_id``.
MESSAGE_STATUS: Final = "CASE WHEN t.state = 'queued' THEN coalesce(t.outcome, m.status) END"
MESSAGE_ERROR: Final = (
    "CASE WHEN t.state != 'queued' THEN NULL WHEN t.outcome IS NOT NULL"
    " THEN t.outcome_reason ELSE m.error END"
)
MESSAGE_SEGMENTS: Final = "coalesce(t.segments, m.segments, 1)"
RATE_WINDOW: Final = timedelta(minutes=1)


@record
class Progress:
    campaign_id: int
    name: str
    status: str
    total: int
    waiting: int
    """In the pool, not programmed yet."""
    programmed: int
    queued: int
    """Handed to the outbox: the sum of the five below."""
    in_outbox: int
    """Queued there or being sent."""
    sent: int
    delivered: int
    failed: int
    skipped: int
    removed: int
    replied: int
    opted_out: int
    """Skipped at send time because the number had opted out, and STOPs answering it."""
    segments_last_minute: int
    sent_last_minute: int
    started_at: datetime | None
    finished_at: datetime | None
    seconds_left: float | None
    """Estimated: the programmed targets at the campaign's rate, or until the last is due;
    None when nothing is left to send."""

    @property
    def rate_per_second(self) -> float:
        """Messages handed to the provider per second over the last minute."""
        return self.sent_last_minute / RATE_WINDOW.total_seconds()


@record
class TargetResult:
    target_id: int
    phone: str
    state: str
    reason: str | None
    due_at: datetime | None
    message_id: int | None
    message_status: str | None
    error: str | None
    replied_at: datetime | None
    opted_out_at: datetime | None


async def campaign_id(db: Database, actor: Actor, name: str) -> int:
    """The campaign named ``name`` (any case), if ``actor`` may see it."""
    found = await db.scalar("SELECT id FROM campaigns WHERE name = ?", (name.strip(),))
    if found is None:
        raise NotFound(f"no SMS campaign named {name.strip()!r}")
    authorize(actor, Action.VIEW_CAMPAIGN, CampaignAccess(found))
    return int(found)


_COUNTS = """SELECT count(*) AS total,
  sum(t.state = 'waiting') AS waiting, sum(t.state = 'programmed') AS programmed,
  sum(t.state = 'queued') AS queued, sum(t.state = 'skipped') AS skipped,
  sum(t.state = 'removed') AS removed,
  sum({st} IN ('queued', 'sending')) AS in_outbox, sum({st} = 'sent') AS sent,
  sum({st} = 'delivered') AS delivered, sum({st} = 'failed') AS failed,
  count(t.replied_at) AS replied,
  sum(t.opted_out_at IS NOT NULL OR (t.state = 'skipped' AND t.reason = :opted)) AS opted_out,
  max(CASE WHEN t.state = 'programmed' THEN t.due_at END) AS last_due,
  sum(CASE WHEN t.state = 'programmed' OR {st} IN ('queued', 'sending')
      THEN {segments} END) AS segments_left
 FROM campaign_targets t LEFT JOIN messages m ON m.id = t.message_id
 WHERE t.campaign_id = :campaign""".format(st=f"({MESSAGE_STATUS})", segments=MESSAGE_SEGMENTS)


async def progress(db: Database, actor: Actor, campaign_id: int) -> Progress:
    authorize(actor, Action.VIEW_CAMPAIGN, CampaignAccess(campaign_id))
    now = db.clock.now()
    campaign = await db.fetchone(
        "SELECT c.name, c.status, c.started_at, c.finished_at, c.rate_segments_per_second,"
        f" (SELECT {MESSAGES_IN_ROWS} FROM messages m"
        "   WHERE m.campaign_id = c.id AND m.direction = 'out'"
        "   AND m.sent_at >= :since) AS sent_recently,"
        " (SELECT coalesce(sum(segments), 0) FROM messages m WHERE m.campaign_id = c.id"
        "   AND m.direction = 'out' AND m.sent_at >= :since) AS segments_recently"
        " FROM campaigns c WHERE c.id = :campaign",
        {"campaign": campaign_id, "since": to_ms(now - RATE_WINDOW)},
    )
    if campaign is None:
        raise NotFound(f"no SMS campaign with id {campaign_id}")
    c = await db.fetchone(_COUNTS, {"campaign": campaign_id, "opted": OPTED_OUT})
    assert c is not None  # an aggregate always has its row

    def n(key: str) -> int:
        return int(c[key] or 0)

    left: float | None = None
    if n("segments_left"):
        left = n("segments_left") / max(campaign["rate_segments_per_second"], 1e-9)
        if c["last_due"] is not None:
            left = max(left, (c["last_due"] - to_ms(now)) / 1000)
    return Progress(
        campaign_id,
        campaign["name"],
        campaign["status"],
        n("total"),
        n("waiting"),
        n("programmed"),
        n("queued"),
        n("in_outbox"),
        n("sent"),
        n("delivered"),
        n("failed"),
        n("skipped"),
        n("removed"),
        n("replied"),
        n("opted_out"),
        int(campaign["segments_recently"]),
        int(campaign["sent_recently"]),
        from_ms_or_none(campaign["started_at"]),
        from_ms_or_none(campaign["finished_at"]),
        left,
    )


async def results(
    db: Database,
    actor: Actor,
    campaign_id: int,
    *,
    state: str | None = None,
    limit: int | None = None,
    after_id: int = 0,
) -> list[TargetResult]:
    """Per target, in the order they were added, after ``after_id`` (keyset pages): state
    and reason, message status, reply."""
    authorize(actor, Action.VIEW_CAMPAIGN, CampaignAccess(campaign_id))
    if state is not None and state not in STATES:
        raise InvalidInput(f"a target's state is one of {', '.join(STATES)}, not {state!r}")
    rows = await db.fetchall(
        f"SELECT t.id, t.phone, t.state, t.reason, t.due_at, t.message_id,"
        f" {MESSAGE_STATUS} AS status, {MESSAGE_ERROR} AS error,"
        " t.replied_at, t.opted_out_at FROM campaign_targets t"
        " LEFT JOIN messages m ON m.id = t.message_id"
        " WHERE t.campaign_id = :campaign AND t.id > :after"
        " AND (:state IS NULL OR t.state = :state)"
        " ORDER BY t.id LIMIT :limit",
        {
            "campaign": campaign_id,
            "state": state,
            "after": after_id,
            "limit": -1 if limit is None else limit,
        },
    )
    return [
        TargetResult(
            r["id"],
            r["phone"],
            r["state"],
            r["reason"],
            from_ms_or_none(r["due_at"]),
            r["message_id"],
            r["status"],
            r["error"],
            from_ms_or_none(r["replied_at"]),
            from_ms_or_none(r["opted_out_at"]),
        )
        for r in rows
    ]
