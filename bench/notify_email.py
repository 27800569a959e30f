"""The email outbox: N emails queued -> delivered to aiosmtpd, next to a bare aiosmtplib loop.

A real aiosmtpd (tests/fakes/smtp_server.py; it keeps only each Message-ID) on
127.0.0.1 takes everything, in a thread of this process, so both sides share
the same server and the same interpreter. Measured, in the same run:

- the outbox: N rows queued in a fresh SQLite file (not timed), then the
  worker's email job (``EmailPump.run``: claim with a lease, the SMTP
  gateway, each outcome recorded as it comes) timed until every row is
  'sent', with 1, 2 and 4 connections kept open, and with one connection per
  email (the gateway's plain ``send``, as before the outbox);
- the baseline: the same N messages (From, To, Subject, Date, Message-ID,
  UTF-8 body, built in the loop as any sender would) sent by a bare loop over
  one ``aiosmtplib.SMTP`` connection, no database.

Goal: the outbox's emails per second >= 0.7 of the bare loop's (with the
default connections, WorkerOptions.email_connections). The server received
every outbox email exactly once (counted by Message-ID).

On 127.0.0.1 the server and the client share one interpreter, so more
connections cannot go faster than one: the work is CPU. A second, smaller
run has the server take 5 ms over each DATA (a server further away or
busier): there the connections overlap their waits, which is why the job
holds a few.
"""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import aiosmtplib

from bench.common import count_from_argv, print_table, scratch_dir
from core.clock import SystemClock
from core.db import open_database
from core.delivery import email_job, emails
from core.delivery.gateway import OutboundEmail
from core.scheduling.options import WorkerOptions
from providers.config import SmtpConfig
from providers.smtp import SmtpGateway
from tests.fakes.smtp_server import LocalServer, Mailbox

GOAL_RATIO = 0.7
SENDER = "Switchboard <switchboard@example.org>"
BODY = (
    "A message was taken for you.\n\nCaller: Mrs Example\nPhone: +1 415 555 0100\n"
    "Message: please call back about the delivery on Tuesday.\n"
)


class OneByOne:
    """The SMTP gateway without its kept connections: one connection per email."""

    name = "smtp"

    def __init__(self, inner: SmtpGateway) -> None:
        self.inner = inner

    async def send(self, email: OutboundEmail) -> None:
        await self.inner.send(email)


async def outbox(path: Path, port: int, count: int, connections: int, reuse: bool) -> float:
    db = await open_database(path, SystemClock())
    try:
        async with db.transaction() as tx:
            for i in range(count):
                await emails.queue_in(tx, "notice", f"p{i}@example.com", f"Notice {i}", BODY)
        gateway = SmtpGateway(
            SmtpConfig(host="127.0.0.1", port=port, security="none", sender=SENDER)
        )
        pump = email_job.EmailPump(
            db,
            gateway if reuse else OneByOne(gateway),
            email_job.EmailOptions(connections=connections),
        )
        started = time.perf_counter()
        while await pump.run():
            pass
        elapsed = time.perf_counter() - started
        sent = await db.scalar("SELECT count(*) FROM emails WHERE status = 'sent'")
        assert sent == count, f"{sent} of {count} sent"
    finally:
        await db.close()
    return elapsed


async def bare(port: int, count: int) -> float:
    started = time.perf_counter()
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await smtp.connect()
    for i in range(count):
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = f"p{i}@example.com"
        message["Subject"] = f"Notice {i}"
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain="example.org")
        message.set_content(BODY, charset="utf-8")
        await smtp.send_message(message)
    await smtp.quit()
    return time.perf_counter() - started


async def scenario(
    box: Mailbox, port: int, tmp: Path, count: int, variants: list[tuple[int, bool]]
) -> tuple[list[list[str]], dict[tuple[int, bool], float]]:
    """Rows of the table and each variant's ratio to the bare loop, for one server."""
    baseline = await bare(port, count)
    box.message_ids.clear()
    rows: list[list[str]] = []
    ratios: dict[tuple[int, bool], float] = {}
    for connections, reuse in variants:
        name = f"d{box.data_delay}-c{connections}-{'reuse' if reuse else 'one'}.db"
        took = await outbox(tmp / name, port, count, connections, reuse)
        received = box.by_message_id()
        assert len(received) == count, f"{len(received)} of {count} arrived"
        assert set(received.values()) == {1}, "each arrived once"
        box.message_ids.clear()
        ratios[(connections, reuse)] = baseline / took
        how = "kept open" if reuse else "one per email"
        rows.append(
            [
                f"outbox, {connections} connection(s) {how}",
                f"{took * 1000:,.0f}",
                f"{count / took:,.0f}",
                f"{baseline / took:.2f}",
            ]
        )
    rows.append(
        ["bare aiosmtplib loop, one connection", f"{baseline * 1000:,.0f}",
         f"{count / baseline:,.0f}", "1.00"]
    )  # fmt: skip
    return rows, ratios


async def main(count: int) -> None:
    default = WorkerOptions().email_connections
    variants = sorted({(1, True), (2, True), (4, True), (default, True), (default, False)})
    slow_count = max(count // 5, 40)
    box = Mailbox(parse=False)
    server = LocalServer(box)
    server.start()
    try:
        with scratch_dir() as tmp:
            rows, ratios = await scenario(box, server.port, tmp, count, variants)
            # A server further away, or busier: each DATA answered after 5 ms.
            box.data_delay = 0.005
            slow_rows, _ = await scenario(
                box, server.port, tmp, slow_count, [(1, True), (default, True)]
            )
    finally:
        server.stop()
    headers = ["sender", "ms", "emails/s", "vs bare"]
    print_table(
        f"email outbox: {count:,} emails queued -> delivered to aiosmtpd on 127.0.0.1",
        headers,
        rows,
    )
    ratio = ratios[(default, True)]
    print(
        f"outbox ({default} connections, the default) vs bare loop: {ratio:.2f}"
        f" (goal >= {GOAL_RATIO}): {'met' if ratio >= GOAL_RATIO else 'NOT met'}"
    )
    print()
    print_table(
        f"the same, {slow_count:,} emails, the server taking 5 ms over each DATA",
        headers,
        slow_rows,
    )


if __name__ == "__main__":
    asyncio.run(main(count_from_argv(__doc__.splitlines()[0], 2_000, 200)))
