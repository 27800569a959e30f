"""The sandbox sends batches as Sinch does: one ID, a row and a report per recipient."""

from __future__ import annotations

from pathlib import Path

from core import settings
from core.campaigns import progress
from core.clock import FakeClock
from core.db import Database, open_database
from core.delivery import batching
from core.delivery.gateway import OutboundBatch, OutboundSms, SendsBatches
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import numbers
from providers import sandbox
from providers.sandbox import SandboxGateway
from tests.core import campaign_setup as cs
from tests.old_schema import database_at

SENDER = "+14155550100"
BODY = "The clinic is closed on Monday."
REACHABLE = ("+12125550110", "+12125550120", "+12125550130")
UNREACHABLE = "+12125550199"
STRANGER = "+12125550140"


def batch(*rows: tuple[int, str], reference: str = "") -> OutboundBatch:
    return OutboundBatch(reference or f"batch-{rows[0][0]}", SENDER, BODY, 1, rows)


async def due(db: Database, gateway: SandboxGateway, clock: FakeClock) -> list[tuple[object, ...]]:
    clock.advance(minutes=5)
    async with db.transaction() as tx:
        reports = await gateway.take_due_reports(tx)
    return sorted((r.provider_id, r.recipient, r.status, r.message_id, r.reason) for r in reports)


async def test_a_batch_is_one_provider_id_and_one_row_per_message(db: Database):
    gateway = SandboxGateway(db)
    assert isinstance(gateway, SendsBatches)
    assert gateway.max_batch_recipients == 1000

    accepted = await gateway.send_batch(batch(*zip((1, 2, 3), REACHABLE, strict=True)))

    rows = await db.fetchall(
        "SELECT message_id, provider_id, recipient, body, send_calls FROM sandbox_messages"
        " ORDER BY message_id"
    )
    assert [tuple(r) for r in rows] == [
        (n, accepted.provider_id, number, BODY, 1)
        for n, number in zip((1, 2, 3), REACHABLE, strict=True)
    ]
    assert accepted.provider_id == "sandbox-batch-1"


async def test_an_unreachable_recipient_fails_alone_by_its_report(db: Database, clock: FakeClock):
    gateway = SandboxGateway(db)
    accepted = await gateway.send_batch(
        batch((1, REACHABLE[0]), (2, UNREACHABLE), (3, REACHABLE[1]))
    )
    pid = accepted.provider_id

    assert await due(db, gateway, clock) == [
        (pid, REACHABLE[0], "delivered", None, ""),
        (pid, REACHABLE[1], "delivered", None, ""),
        (
            pid,
            UNREACHABLE,
            "failed",
            None,
            "sandbox: the number is unreachable (numbers ending in 0199 always fail)",
        ),
    ]
    assert await due(db, gateway, clock) == [], "each report once"
    phones = {m.recipient for m in await sandbox.inbox(db)}
    assert phones == {REACHABLE[0], REACHABLE[1]}, "the unreachable phone got nothing"


async def test_a_single_message_still_names_itself_in_its_report(db: Database, clock: FakeClock):
    gateway = SandboxGateway(db)
    await gateway.send(OutboundSms(7, SENDER, REACHABLE[0], BODY, 1))
    assert await due(db, gateway, clock) == [("sandbox-7", REACHABLE[0], "delivered", 7, "")]


async def test_a_batch_sent_again_is_kept_once_and_reported_once(db: Database, clock: FakeClock):
    gateway = SandboxGateway(db)
    rows = tuple(zip((1, 2), REACHABLE, strict=False))
    first = await gateway.send_batch(batch(*rows))
    assert len(await due(db, gateway, clock)) == 2

    again = await gateway.send_batch(batch(*rows))

    assert again == first
    assert await db.scalar("SELECT count(*) FROM sandbox_messages") == 2
    assert await db.scalar("SELECT min(send_calls) FROM sandbox_messages") == 2
    assert await due(db, gateway, clock) == [], "not delivered twice"


async def test_a_retry_of_fewer_rows_is_found_under_the_earlier_batch(
    db: Database, clock: FakeClock
):
    gateway = SandboxGateway(db)
    first = await gateway.send_batch(batch(*zip((1, 2, 3), REACHABLE, strict=True)))
    # Row 1 was cancelled since: the batch made again is named after row 2.
    again = await gateway.send_batch(batch((2, REACHABLE[1]), (3, REACHABLE[2])))
    assert again == first
    assert await db.scalar("SELECT count(DISTINCT provider_id) FROM sandbox_messages") == 1


async def test_a_message_sent_again_in_another_batch_is_reported_under_the_new_one(
    db: Database, clock: FakeClock
):
    gateway = SandboxGateway(db)
    await gateway.send_batch(batch((1, REACHABLE[0]), (2, REACHABLE[1])))
    assert len(await due(db, gateway, clock)) == 2
    moved = await gateway.send_batch(batch((2, REACHABLE[1]), (3, REACHABLE[2])))

    assert moved.provider_id == "sandbox-batch-2"
    # The outbox records the new ID for message 2, so its report comes again under it.
    assert [r[:3] for r in await due(db, gateway, clock)] == [
        ("sandbox-batch-2", REACHABLE[1], "delivered"),
        ("sandbox-batch-2", REACHABLE[2], "delivered"),
    ]
    assert await db.scalar("SELECT send_calls FROM sandbox_messages WHERE message_id = 2") == 2


async def test_a_database_from_schema_4_keeps_its_sandbox_messages(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    conn = database_at(path, 4)
    conn.execute(
        "INSERT INTO sandbox_messages (message_id, provider_id, sender, recipient, body,"
        " accepted_at, deliver_at, delivered) VALUES (9, 'sandbox-9', ?, ?, 'hi', 0, 0, 1)",
        (SENDER, REACHABLE[0]),
    )
    conn.close()

    db = await open_database(path, FakeClock())
    try:
        row = await db.fetchone("SELECT provider_id, delivered, outcome FROM sandbox_messages")
        assert row is not None
        assert tuple(row) == ("sandbox-9", 1, "delivered")
    finally:
        await db.close()


async def test_a_campaign_batch_is_one_message_to_many_and_each_target_gets_its_report(
    db: Database, clock: FakeClock
):
    # Schema 14: one outbox row for the campaign's batch; the sandbox keeps it per
    # recipient, recognises its resend, and reports each recipient on its own.
    await settings.update(db, SYSTEM, rate_segments_per_second=1000, sandbox_delivery_seconds=1)
    await numbers.add(db, SYSTEM, SENDER, default=True)
    cid = await cs.campaign(db, template="Hi {{first_name}}", sender=SENDER, window=(0, 1440))
    for n, phone in enumerate((*REACHABLE[:2], UNREACHABLE)):
        await cs.target(db, cid, phone, merge_values={"first_name": f"P{n}"})
    gateway = SandboxGateway(db)
    worker = Worker(db, gateway, holder="test")
    assert await worker.tick_lease()
    await worker.run_once()  # dispatched and sent
    rows = await db.fetchall(
        "SELECT message_id, recipient, body, send_calls FROM sandbox_messages ORDER BY recipient"
    )
    (batch_id,) = {r["message_id"] for r in rows}
    assert [(r["recipient"], r["body"].split("\n")[0]) for r in rows] == [
        (REACHABLE[0], "Hi P0"),
        (REACHABLE[1], "Hi P1"),
        (UNREACHABLE, "Hi P2"),
    ]
    (claimed,) = [
        OutboundSms(batch_id, SENDER, "", "Hi ${first_name}", 3, template="Hi ${first_name}",
                    attempt=2, recipients=tuple((r["recipient"], ()) for r in rows))
    ]  # fmt: skip
    again = await gateway.send_batch(batching.campaign_batch(claimed))  # a resend: the same
    assert again.provider_id == await db.scalar(
        "SELECT provider_id FROM messages WHERE id = ?", (batch_id,)
    )
    assert {r[0] for r in await db.fetchall("SELECT send_calls FROM sandbox_messages")} == {2}

    clock.advance(seconds=2)
    await worker.run_once()  # the reports, one per recipient
    counted = await progress.progress(db, SYSTEM, cid)
    assert (counted.delivered, counted.failed) == (2, 1)


async def test_a_phone_replies_to_the_number_that_last_texted_it(db: Database):
    # A campaign's text is no conversation: the phone still answers the number it came
    # from, not the account's default. A phone never texted answers its conversation's
    # number, else the default, and with no default, our only number.
    campaign_sender = "+14155550109"
    await numbers.add(db, SYSTEM, campaign_sender)
    gateway = SandboxGateway(db)
    await gateway.send_batch(
        OutboundBatch("b-1", campaign_sender, BODY, 1, ((1, REACHABLE[0]), (2, REACHABLE[1])))
    )
    assert await sandbox.reply(db, REACHABLE[0], "who is this?") is not None
    assert await sandbox.reply(db, REACHABLE[2], "hello") is not None
    await numbers.add(db, SYSTEM, SENDER, default=True)
    await sandbox.reply(db, REACHABLE[2], "hello again")  # its conversation's number
    await sandbox.reply(db, REACHABLE[2], "hello", to=SENDER)
    await sandbox.reply(db, STRANGER, "hi")  # neither sent to nor in a conversation
    rows = await db.fetchall(
        "SELECT c.phone, n.e164 FROM conversations c JOIN numbers n ON n.id = c.number_id"
        " ORDER BY c.id"
    )
    assert [tuple(r) for r in rows] == [
        (REACHABLE[0], campaign_sender),
        (REACHABLE[2], campaign_sender),  # our only number then
        (REACHABLE[2], SENDER),
        (STRANGER, SENDER),  # the default
    ]
    counts = await db.fetchall(
        "SELECT c.phone, n.e164, count(*) FROM messages m JOIN conversations c"
        " ON c.id = m.conversation_id JOIN numbers n ON n.id = c.number_id"
        " GROUP BY c.id ORDER BY c.id"
    )
    assert [r[2] for r in counts] == [1, 2, 1, 1]
