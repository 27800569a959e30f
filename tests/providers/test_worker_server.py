"""End to end: `switchboard worker` serves callbacks, /metrics and /healthz, and logs JSON.

The worker runs as a user runs it, in a subprocess on a real database file;
the test talks to it over HTTP and reads the database as another process.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx
import pytest

from tests.processes import Background, running, scalar, switchboard, wait_for, worker

OURS = "+14155550100"
ANN = "+12125550105"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "switchboard.sqlite3"
    for args in (
        ("agents", "add", "ops", "--role", "manager"),
        ("numbers", "add", OURS, "--default"),
    ):
        result = switchboard(*args, db=path, home=tmp_path)
        assert result.returncode == 0, result.stderr
    return path


def webhook_url(process: Background) -> str:
    found: list[str] = []

    def listening() -> bool:
        found[:] = re.findall(r"webhooks on (http://\S+)", process.output())
        return bool(found)

    wait_for(listening, timeout=20, what="the worker's webhook server")
    return found[0]


def mo(id_: str, body: str) -> dict[str, str]:
    return {
        "type": "mo_text",
        "id": id_,
        "from": ANN.removeprefix("+"),
        "to": OURS.removeprefix("+"),
        "body": body,
        "received_at": "2026-11-23T10:00:00.000Z",
    }


def test_the_headless_worker_takes_callbacks_and_reports_on_itself(db: Path, tmp_path: Path):
    process = worker(db, tmp_path, "a", "--log-format", "json", "-v")
    with running(process):
        url = webhook_url(process)
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("/healthz").text == "ok"
            assert http.post("/sinch/events", json=mo("01MO1", "Hello there")).status_code == 200
            assert http.post("/sinch/events", json=mo("01MO1", "Hello there")).status_code == 200
            assert http.post("/sinch/events", content=b"{not json").status_code == 400
            assert http.post("/sinch/events", json=mo("01MO2", "STOP")).status_code == 200

            assert scalar(db, "SELECT count(*) FROM messages WHERE provider_ref = '01MO1'") == 1
            assert scalar(db, "SELECT opted_out FROM phone_consent WHERE phone = ?", (ANN,)) == 1
            # The STOP confirmation goes out through the worker (sandbox provider here).
            wait_for(
                lambda: (
                    scalar(db, "SELECT status FROM messages WHERE kind = 'optout_confirmation'")
                    in ("sent", "delivered")
                ),
                timeout=20,
                what="the worker to send the STOP confirmation",
            )
            metrics = http.get("/metrics").text
        assert 'switchboard_webhook_requests_total{outcome="stored"} 2.0' in metrics
        assert 'switchboard_webhook_requests_total{outcome="duplicate"} 1.0' in metrics
        assert 'switchboard_webhook_requests_total{outcome="bad_request"} 1.0' in metrics
        assert "switchboard_worker_lease_held 1.0" in metrics
        assert process.terminate() == 0

    lines = [json.loads(line) for line in process.output().splitlines() if line.startswith("{")]
    assert any(line.get("event") == "outbox.batch" for line in lines), process.output()
    started = [line for line in lines if line.get("event") == "worker.started"]
    assert [line["event_loop"] for line in started] == ["uvloop"]  # console.server_loop
    assert any(line.get("outcome") == "bad_request" for line in lines)
    assert any(line.get("outcome") == "unsigned_accepted" for line in lines)


def test_a_port_in_use_is_one_clear_line(db: Path, tmp_path: Path):
    first = worker(db, tmp_path, "a")
    with running(first):
        port = webhook_url(first).rsplit(":", 1)[1]
        result = switchboard("worker", "--port", port, db=db, home=tmp_path)
    assert result.returncode == 1
    assert f"the webhook port 127.0.0.1:{port} is in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_hostile_requests_leave_the_worker_serving_and_its_log_one_line_each(
    db: Path, tmp_path: Path
):
    process = worker(db, tmp_path, "a", "--log-format", "json")
    with running(process):
        url = webhook_url(process)
        port = int(url.rsplit(":", 1)[1])
        with httpx.Client(base_url=url, timeout=10) as http:
            # A report that can never be stored (a lone surrogate in its batch ID), twice.
            poison = (
                b'{"type": "recipient_delivery_report_sms", "batch_id": "01BAD\\ud800",'
                b' "recipient": "12125550105", "status": "Delivered", "code": 0}'
            )
            for _ in range(2):
                assert http.post("/sinch/events", content=poison).status_code == 400
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                raw.sendall(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                assert raw.recv(64).split(b" ")[1] == b"400"
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                raw.sendall(
                    b"POST /sinch/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"
                )  # and hangs up
            # The callbacks after them are stored.
            assert http.post("/sinch/events", json=mo("01MO1", "Hello there")).status_code == 200
            wait_for(
                lambda: 'outcome="client_gone"} 1.0' in http.get("/metrics").text,
                timeout=30,
                what="the hang-up to be counted",
            )
            metrics = http.get("/metrics").text
        assert 'switchboard_webhook_requests_total{outcome="bad_request"} 2.0' in metrics
        assert 'switchboard_webhook_requests_total{outcome="stored"} 1.0' in metrics
        assert 'switchboard_http_refused_total{reason="malformed"} 1.0' in metrics
        assert process.terminate() == 0

    assert scalar(db, "SELECT count(*) FROM delivery_reports") == 0
    assert scalar(db, "SELECT count(*) FROM messages WHERE provider_ref = '01MO1'") == 1
    output = process.output()
    assert "Traceback" not in output, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    outcomes = [line.get("outcome") for line in lines]
    assert outcomes.count("bad_request") == 2  # each poison logged once
    assert outcomes.count("malformed") == 1
    assert outcomes.count("client_gone") == 1
