"""Inbound SMS callbacks arriving together share one transaction (group commit).

Each test holds the first MO's transaction open with a gate hook, posts the
others while it is held (they queue for the next transaction), then opens
the gate: the queued callbacks are then stored in one transaction, and
answered only once it has committed.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from core.clock import FakeClock
from core.db import Database, Tx
from core.sms import consent, inbound, receiving
from providers.config import WebhookConfig
from providers.webhooks import WebhookServer
from tests.providers.test_webhooks import SECRET, count, make_setup, mo, post, sign

SENDERS = [f"+1212555{n:04d}" for n in range(150, 160)]  # 555-01XX: reserved for fiction


@dataclass
class Gate:
    """A hook that holds the first transaction open until ``release``."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    fail_on: str | None = None
    """A body whose message makes the hook raise, as a bug in a capability would."""

    async def run(self, message: inbound.Inbound) -> None:
        if message.body == self.fail_on:
            raise RuntimeError("a capability's hook failed")
        self.entered.set()
        await self.opened.wait()


@dataclass
class Transactions:
    begun: int = 0
    committed: int = 0
    crash: bool = False
    """Fail every transaction after its work, just before COMMIT."""


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    held = Gate()
    hooks = [*receiving.default_hooks(), inbound.Hook("gate", held.run)]
    monkeypatch.setattr(receiving, "default_hooks", lambda: list(hooks))
    return held


@pytest.fixture
def transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> Transactions:
    seen = Transactions()
    real = db.transaction

    @asynccontextmanager
    async def counted() -> AsyncIterator[Tx]:
        seen.begun += 1
        async with real() as tx:
            yield tx
            if seen.crash:
                raise sqlite3.OperationalError("disk I/O error")
        seen.committed += 1

    monkeypatch.setattr(db, "transaction", counted)
    return seen


@pytest.fixture
async def server(db: Database) -> AsyncIterator[WebhookServer]:
    await make_setup(db)
    srv = WebhookServer(db, WebhookConfig(port=0), secret=SECRET)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def client(server: WebhookServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as c:
        yield c


async def _held_group(
    server: WebhookServer,
    client: httpx.AsyncClient,
    clock: FakeClock,
    gate: Gate,
    bodies: Sequence[bytes],
) -> tuple[httpx.Response, list[httpx.Response]]:
    """Post a first MO and hold its transaction; post ``bodies`` meanwhile; then open the gate.

    Checks that nothing is answered while the first transaction is open.
    """
    first_body = mo("01FIRST", "first", sender=SENDERS[0])
    first = asyncio.create_task(post(client, first_body, sign(first_body, clock)))
    await asyncio.wait_for(gate.entered.wait(), 10)
    rest = [asyncio.create_task(post(client, b, sign(b, clock))) for b in bodies]
    async with asyncio.timeout(10):
        while len(server._inbound_sms._pending) < len(bodies):  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.005)
    assert not first.done()
    assert not any(t.done() for t in rest)
    gate.opened.set()
    return await first, list(await asyncio.gather(*rest))


async def test_mo_callbacks_arriving_together_share_one_transaction(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    gate: Gate,
    transactions: Transactions,
) -> None:
    bodies = [mo(f"01MO-{n}", f"hello {n}", sender=SENDERS[n % 5]) for n in range(20)]
    first, rest = await _held_group(server, client, clock, gate, bodies)
    assert [r.status_code for r in [first, *rest]] == [200] * 21
    # The first alone, then the 20 that arrived while it was open: two commits, not 21.
    assert transactions.committed == 2
    assert await count(db, "SELECT count(*) FROM messages WHERE direction = 'in'") == 21
    assert server.metrics.count("stored") == 21
    # Every message is still announced on the change feed, with its own message id.
    events = await db.fetchall("SELECT data FROM events WHERE kind = 'message.received'")
    ids = {json.loads(e["data"])["message_id"] for e in events}
    assert ids == set(await _column(db, "SELECT id FROM messages WHERE direction = 'in'"))
    # Each conversation's last inbound message is its latest.
    rows = await db.fetchall(
        "SELECT c.last_inbound_id, max(m.id) AS latest, c.waiting_since FROM conversations c"
        " JOIN messages m ON m.conversation_id = c.id GROUP BY c.id"
    )
    assert len(rows) == 5
    assert all(r["last_inbound_id"] == r["latest"] for r in rows)
    assert all(r["waiting_since"] is not None for r in rows)


async def test_a_refused_mo_gets_its_own_answer_and_the_rest_of_its_group_is_stored(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    gate: Gate,
    transactions: Transactions,
) -> None:
    bodies = [
        mo("01GOOD-1", "one", sender=SENDERS[1]),
        mo("01NOT-OURS", "to a number that is not ours", sender=SENDERS[2], to="+14155550177"),
        mo("01ALPHA", "from a name", sender="ACME"),
        mo("01GOOD-2", "two", sender=SENDERS[3]),
    ]
    first, rest = await _held_group(server, client, clock, gate, bodies)
    assert [r.status_code for r in [first, *rest]] == [200] * 5
    assert transactions.committed == 2  # the refusals did not split the group
    stored = await _column(db, "SELECT provider_ref FROM messages ORDER BY id")
    assert stored == ["01FIRST", "01GOOD-1", "01GOOD-2"]
    assert (server.metrics.count("stored"), server.metrics.count("ignored")) == (3, 2)


async def test_an_mo_that_fails_in_its_group_fails_alone(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    gate: Gate,
) -> None:
    gate.fail_on = "boom"
    bodies = [
        mo("01GOOD-1", "one", sender=SENDERS[1]),
        mo("01BOOM", "boom", sender=SENDERS[2]),
        mo("01GOOD-2", "two", sender=SENDERS[3]),
    ]
    first, rest = await _held_group(server, client, clock, gate, bodies)
    assert [r.status_code for r in [first, *rest]] == [200, 200, 500, 200]
    stored = await _column(db, "SELECT provider_ref FROM messages ORDER BY id")
    assert stored == ["01FIRST", "01GOOD-1", "01GOOD-2"]
    # Nothing of the failed one was kept: its contact and conversation went with it.
    assert await count(db, "SELECT count(*) FROM conversations WHERE phone = ?", (SENDERS[2],)) == 0


async def test_copies_of_one_mo_in_a_group_are_stored_once(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    gate: Gate,
    transactions: Transactions,
) -> None:
    again = mo("01TWICE", "sent twice", sender=SENDERS[1])
    earlier = mo("01FIRST", "first", sender=SENDERS[0])  # a retry of the held one
    first, rest = await _held_group(server, client, clock, gate, [again, again, earlier])
    assert [r.status_code for r in [first, *rest]] == [200] * 4
    assert transactions.committed == 2
    assert await _column(db, "SELECT provider_ref FROM messages ORDER BY id") == [
        "01FIRST",
        "01TWICE",
    ]
    assert (server.metrics.count("stored"), server.metrics.count("duplicate")) == (2, 2)


async def test_stop_in_a_group_opts_out_that_number_only(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    gate: Gate,
) -> None:
    bodies = [
        mo("01STOP", "STOP", sender=SENDERS[1]),
        mo("01CHAT", "hello", sender=SENDERS[2]),
        mo("01HELP", "HELP", sender=SENDERS[3]),
    ]
    first, rest = await _held_group(server, client, clock, gate, bodies)
    assert [r.status_code for r in [first, *rest]] == [200] * 4
    assert [await consent.is_opted_out(db, s) for s in SENDERS[1:4]] == [True, False, False]
    # One confirmation for the STOP, one answer for the HELP; the chat waits for an agent.
    replies = await db.fetchall(
        "SELECT c.phone FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE m.direction = 'out' ORDER BY c.phone"
    )
    assert [r["phone"] for r in replies] == [SENDERS[1], SENDERS[3]]
    waiting = await _column(
        db, "SELECT phone FROM conversations WHERE waiting_since IS NOT NULL ORDER BY phone"
    )
    assert waiting == [SENDERS[0], SENDERS[2]]


async def test_a_group_that_cannot_commit_is_not_acknowledged_and_is_taken_when_sent_again(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    gate: Gate,
    transactions: Transactions,
) -> None:
    # The commit fails as a crash would: no MO may have been answered 200, so Sinch
    # sends each again and none is lost.
    transactions.crash = True
    bodies = [mo(f"01MO-{n}", f"hello {n}", sender=SENDERS[n]) for n in range(1, 4)]
    first, rest = await _held_group(server, client, clock, gate, bodies)
    assert [r.status_code for r in [first, *rest]] == [500] * 4
    assert await count(db, "SELECT count(*) FROM messages") == 0
    transactions.crash = False
    again = [mo("01FIRST", "first", sender=SENDERS[0]), *bodies]
    answers = await asyncio.gather(*(post(client, b, sign(b, clock)) for b in again))
    assert [r.status_code for r in answers] == [200] * 4
    assert await count(db, "SELECT count(*) FROM messages WHERE direction = 'in'") == 4


async def _column(db: Database, sql: str) -> list[object]:
    return [row[0] for row in await db.fetchall(sql)]
