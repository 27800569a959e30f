"""End to end with Sinch: `switchboard worker` and the CLI in subprocesses, the fake Sinch here.

send → worker → Sinch (batch) → Sinch's signed delivery report → the worker's
webhook → delivered in the database; a reply → a new inbound conversation,
with STOP honoured and its confirmation sent through Sinch.

The fake Sinch server runs in this test's event loop, so the subprocesses
are run in threads and waits are asynchronous polls (for I/O, never for a due
time: nothing here is scheduled in the future).
"""

from __future__ import annotations

import asyncio
import getpass
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes.sinch_server import FakeSinch
from tests.processes import query, running, scalar, switchboard, worker

OURS = "+14155550100"
ANN = "+12125550105"
SECRET = "webhook-secret-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def eventually(check: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(30):
            while not check():  # noqa: ASYNC110 (another process writes; nothing to await)
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "switchboard.sqlite3"
    for args in (
        ("agents", "add", getpass.getuser(), "--role", "manager"),
        ("numbers", "add", OURS, "--default"),
    ):
        result = switchboard(*args, db=path, home=tmp_path)
        assert result.returncode == 0, result.stderr
    return path


async def test_a_message_goes_out_through_sinch_and_replies_come_back(db: Path, tmp_path: Path):
    port = free_port()
    async with FakeSinch(webhook_secret=SECRET) as fake:
        env = {
            "SWITCHBOARD_SINCH_SERVICE_PLAN_ID": fake.service_plan_id,
            "SWITCHBOARD_SINCH_API_TOKEN": fake.api_token,
            "SWITCHBOARD_SINCH_ORIGIN": fake.origin,
            "SWITCHBOARD_SINCH_WEBHOOK_SECRET": SECRET,
            "SWITCHBOARD_WEBHOOKS_PORT": str(port),
            "SWITCHBOARD_WEBHOOKS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }

        def cli(*args: str, on: Path | None = db):
            return asyncio.to_thread(switchboard, *args, db=on, home=tmp_path, env=env)

        process = worker(db, tmp_path, "a", "--port", str(port), "-v", env=env)
        with running(process):
            await eventually(lambda: "webhooks on" in process.output(), "the webhook server")

            checked = await cli("config", "check", on=None)
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert "SMS (Sinch)" in checked.stdout
            assert "Sinch callbacks" in checked.stdout

            sent = await cli("send", "--to", ANN, "Your order is ready")
            assert sent.returncode == 0, sent.stderr
            [message] = query(db, "SELECT id FROM messages WHERE direction = 'out'")
            await eventually(
                lambda: (
                    scalar(db, "SELECT status FROM messages WHERE id = ?", (message["id"],))
                    == "delivered"
                ),
                "Sinch's delivery report to reach the worker",
            )
            [batch] = fake.batches
            assert batch["client_reference"] == str(message["id"])
            assert batch["to"] == [ANN.removeprefix("+")]
            assert batch["callback_url"] == f"http://127.0.0.1:{port}/sinch/events"
            report = query(db, "SELECT provider_id, status, outcome FROM delivery_reports")
            assert [tuple(r) for r in report] == [(batch["id"], "delivered", "delivered")]

            url = f"http://127.0.0.1:{port}/sinch/events"
            await fake.send_mo(url, ANN, OURS, "Thanks, on my way")
            await fake.send_mo(url, ANN, OURS, "STOP")
            await eventually(
                lambda: (
                    scalar(db, "SELECT opted_out FROM phone_consent WHERE phone = ?", (ANN,)) == 1
                ),
                "the STOP to be stored",
            )
            inbound = query(db, "SELECT body FROM messages WHERE direction = 'in' ORDER BY id")
            assert [r["body"] for r in inbound] == ["Thanks, on my way", "STOP"]
            await eventually(
                lambda: len(fake.batches) == 2, "the STOP confirmation to go out through Sinch"
            )
            assert "unsubscribed" in fake.batches[1]["body"]

            refused = await cli("send", "--to", ANN, "One more thing")
            assert refused.returncode == 1
            assert "opted out" in refused.stderr
        assert [c.status for c in fake.callbacks_sent] == [200] * len(fake.callbacks_sent)
