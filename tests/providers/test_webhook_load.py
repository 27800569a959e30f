"""5,000 callbacks at concurrency 50 through the real webhook server: nothing lost, nothing twice.

The mix: distinct MO messages and delivery reports (per-recipient and batch),
10 % sent again (fresh nonce, as Sinch's retries), 5 % signed with the wrong
secret, then a last 5 % replayed byte for byte (same nonce) after the first
wave was answered. Every distinct valid event must be stored exactly once,
every bad or replayed one refused with 401.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import pytest

from core.clock import FakeClock
from core.db import Database
from core.delivery import outbox
from core.delivery.outbox import Sent
from providers.config import EVENTS_PATH, WebhookConfig
from providers.webhooks import WebhookServer
from tests.fakes.sinch_signing import signed_headers
from tests.providers.test_webhooks import OUR_NUMBER, SECRET, make_setup, mo

TOTAL = 5_000
CONCURRENCY = 50
DUPLICATES = TOTAL // 10
BAD = TOTAL // 20
REPLAYS = TOTAL // 20
DISTINCT = TOTAL - DUPLICATES - BAD - REPLAYS
MESSAGES = 400  # outbound messages the delivery reports are about
SENDERS = [f"+1212555{n:04d}" for n in range(100, 200)]  # 555-01XX: reserved for fiction


@dataclass(frozen=True, slots=True)
class Post:
    kind: str  # "mo", "report", "duplicate", "bad", "replay"
    body: bytes
    headers: dict[str, str]
    expect: int


async def _sent_messages(db: Database, count: int) -> list[int]:
    """``count`` outbound messages in state 'sent', batch IDs BATCH-<id>."""
    number_id = await db.scalar("SELECT id FROM numbers WHERE e164 = ?", (OUR_NUMBER,))
    async with db.transaction() as tx:
        conversation = await tx.insert(
            "INSERT INTO conversations (number_id, phone, created_at) VALUES (?, ?, ?)",
            (number_id, "+12125550199", tx.now_ms),
        )
        ids = [await outbox.queue_in(tx, conversation, f"hello {n}") for n in range(count)]
    claimed = await outbox.claim(db, count, 120)
    await outbox.record(db, [Sent(c.message_id, f"BATCH-{c.message_id}") for c in claimed])
    return ids


def _events(message_ids: Sequence[int], count: int) -> list[tuple[str, bytes]]:
    """``count`` distinct valid callbacks: MOs, per-recipient and batch reports."""
    events: list[tuple[str, bytes]] = []
    reports = []
    for mid in message_ids:
        for status in ("Dispatched", "Delivered"):
            reports.append(
                {
                    "type": "recipient_delivery_report_sms",
                    "batch_id": f"BATCH-{mid}",
                    "recipient": "12125550199",
                    "code": 0,
                    "status": status,
                    "at": "2026-01-05T09:00:01.000Z",
                    "client_reference": str(mid),
                }
            )
    for n in range(200):  # summary batch reports for batches we never sent
        reports.append(
            {
                "type": "delivery_report_sms",
                "batch_id": f"FOREIGN-{n}",
                "statuses": [{"code": 0, "status": "Delivered", "count": 1}],
                "total_message_count": 1,
            }
        )
    events += [("report", json.dumps(r).encode()) for r in reports]
    n = 0
    while len(events) < count:
        events.append(("mo", mo(f"MO-{n:05d}", f"message {n}", sender=SENDERS[n % len(SENDERS)])))
        n += 1
    return events[:count]


def _workload(clock: FakeClock, message_ids: Sequence[int]) -> tuple[list[Post], list[Post]]:
    rng = random.Random(20260105)
    stamp = int(clock.now().timestamp())

    def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
        return signed_headers(secret, body, timestamp=stamp)

    distinct = [Post(kind, b, signed(b), 200) for kind, b in _events(message_ids, DISTINCT)]
    duplicates = [
        Post("duplicate", p.body, signed(p.body), 200) for p in rng.sample(distinct, DUPLICATES)
    ]
    bad = [
        Post("bad", mo(f"EVIL-{n}"), signed(mo(f"EVIL-{n}"), "guessed-secret"), 401)
        for n in range(BAD)
    ]
    first_wave = distinct + duplicates + bad
    rng.shuffle(first_wave)
    replays = [
        Post("replay", p.body, p.headers, 401)
        for p in rng.sample([p for p in first_wave if p.expect == 200], REPLAYS)
    ]
    return first_wave, replays


async def _post_all(client: httpx.AsyncClient, posts: Sequence[Post]) -> list[int]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(post: Post) -> int:
        async with gate:
            response = await client.post(EVENTS_PATH, content=post.body, headers=post.headers)
            return response.status_code

    return await asyncio.gather(*(one(p) for p in posts))


@pytest.mark.slow
async def test_5000_callbacks_at_concurrency_50_lose_nothing_and_store_nothing_twice(
    db: Database, clock: FakeClock
) -> None:
    await make_setup(db)
    message_ids = await _sent_messages(db, MESSAGES)
    first_wave, replays = _workload(clock, message_ids)
    assert len(first_wave) + len(replays) == TOTAL

    server = WebhookServer(db, WebhookConfig(port=0), secret=SECRET)
    await server.start()
    started = time.perf_counter()
    try:
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
            first = await _post_all(client, first_wave)
            second = await _post_all(client, replays)
    finally:
        await server.stop()
    elapsed = time.perf_counter() - started

    wrong = [
        (p.kind, p.expect, got)
        for p, got in zip([*first_wave, *replays], [*first, *second], strict=True)
        if got != p.expect
    ]
    assert wrong == [], f"{len(wrong)} answers not as expected, e.g. {wrong[:5]}"

    # Nothing lost, nothing twice.
    distinct = [p for p in first_wave if p.kind in ("mo", "report")]
    mo_refs = {json.loads(p.body)["id"] for p in distinct if p.kind == "mo"}
    stored_refs = [
        r[0] for r in await db.fetchall("SELECT provider_ref FROM messages WHERE direction = 'in'")
    ]
    assert len(stored_refs) == len(set(stored_refs)) == len(mo_refs)
    assert set(stored_refs) == mo_refs
    report_keys = len([p for p in distinct if p.kind == "report"])
    assert await db.scalar("SELECT count(*) FROM delivery_reports") == report_keys
    statuses = Counter(
        r[0]
        for r in await db.fetchall(
            "SELECT status FROM messages WHERE direction = 'out' AND id IN"
            f" ({','.join(map(str, message_ids))})"
        )
    )
    assert statuses == {"delivered": MESSAGES}
    delivered_events = await db.scalar(
        "SELECT count(*) FROM events WHERE kind = 'message.delivered'"
    )
    assert delivered_events == MESSAGES

    counts = {
        o: server.metrics.count(o)
        for o in ("stored", "duplicate", "refused_signature", "refused_replay", "error")
    }
    assert counts == {
        "stored": DISTINCT,
        "duplicate": DUPLICATES,
        "refused_signature": BAD,
        "refused_replay": REPLAYS,
        "error": 0,
    }
    print(f"\n{TOTAL:,} callbacks in {elapsed:.1f} s ({TOTAL / elapsed:,.0f}/s)")
