"""The SMTP gateway against a real aiosmtpd server on 127.0.0.1 (plain, STARTTLS, TLS).

Certificates come from a trustme CA the client is told to trust through
``ca_file``; a server the client does not trust, one that hides STARTTLS,
one that answers 450 or 550, and a port where nothing listens show how each
failure is reported.
"""

from __future__ import annotations

import email
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.delivery.gateway import OutboundEmail, PermanentFailure, TemporaryFailure
from providers import wiring
from providers.config import Config, SmtpConfig
from providers.smtp import SmtpGateway
from tests.processes import switchboard

SENDER = "Switchboard <switchboard@example.org>"
ANN = "ann@example.com"
USER, PASSWORD = "switchboard", "s3cret-pw"
BODY = "Grüße from Switchboard — ✓ 3 conversations wait.\nSecond line.\n"


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives; rcpt_reply refuses recipients."""

    rcpt_reply: str | None = None
    delivered: list[Delivered] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        content = envelope.content.replace(b"\r\n", b"\n")
        parsed = email.message_from_bytes(content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 queued"


@dataclass
class Authenticator:
    """Accepts USER/PASSWORD; remembers every attempt and whether it came over TLS."""

    attempts: list[tuple[str, str, bool]] = field(default_factory=list)

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.attempts.append((login, password, session.ssl is not None))
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)


class LocalController(Controller):
    """aiosmtpd on 127.0.0.1 on a port the system picks (port 0)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Server:
    port: int
    handler: Recorder
    authenticator: Authenticator


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start an aiosmtpd server; everything started is stopped after the test."""
    started: list[Controller] = []

    def start(
        *, rcpt_reply: str | None = None, implicit_tls: ssl.SSLContext | None = None, **smtp: Any
    ) -> Server:
        handler, authenticator = Recorder(rcpt_reply), Authenticator()
        if "authenticator" in smtp:
            smtp["authenticator"] = authenticator
        controller = LocalController(
            handler,
            hostname="127.0.0.1",
            port=0,
            ssl_context=implicit_tls,
            server_hostname="mail.test",
            ready_timeout=5.0,
            **smtp,
        )
        controller.start()
        started.append(controller)
        return Server(controller.port, handler, authenticator)

    yield start
    for controller in started:
        controller.stop()


def config(port: int, **kwargs: Any) -> SmtpConfig:
    base = SmtpConfig(host="127.0.0.1", port=port, security="none", sender=SENDER)
    return replace(base, **kwargs)


def a_message(to: str = ANN) -> OutboundEmail:
    return OutboundEmail(to=to, subject="3 conversations wait", body=BODY)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- sending --------------------------------------------------------------------------


async def test_a_plain_send_delivers_a_proper_utf8_message(serve):
    server = serve()
    await SmtpGateway(config(server.port)).send(a_message())

    [got] = server.handler.delivered
    assert got.mail_from == "switchboard@example.org"
    assert got.rcpt_tos == [ANN]
    message = got.message
    assert message["From"] == SENDER
    assert message["To"] == ANN
    assert message["Subject"] == "3 conversations wait"
    assert message["Date"]
    assert message["Message-ID"].endswith("@example.org>")
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == BODY


async def test_starttls_with_a_private_ca_logs_in_over_tls_and_delivers(serve, server_tls, ca_file):
    server = serve(tls_context=server_tls, require_starttls=True, authenticator=True)
    gateway = SmtpGateway(
        config(server.port, security="starttls", username=USER, password=PASSWORD, ca_file=ca_file)
    )
    await gateway.send(a_message())

    assert server.authenticator.attempts == [(USER, PASSWORD, True)], "logged in over TLS"
    [got] = server.handler.delivered
    assert got.message["Subject"] == "3 conversations wait"
    check = await gateway.check()
    assert (check.configured, check.reachable, check.accepted) == (True, True, True)
    assert check.provider == "email (SMTP)"
    assert f"127.0.0.1:{server.port}" in check.detail
    assert len(server.handler.delivered) == 1, "check() sends no mail"


async def test_config_check_asks_the_configured_mail_server(serve, server_tls, ca_file):
    server = serve(tls_context=server_tls, require_starttls=True, authenticator=True)
    smtp = config(
        server.port, security="starttls", username=USER, password=PASSWORD, ca_file=ca_file
    )
    [sms, mail] = await wiring.checks(Config(smtp=smtp))
    assert sms.provider == "SMS (sandbox)"
    assert (mail.provider, mail.configured, mail.reachable, mail.accepted) == (
        "email (SMTP)",
        True,
        True,
        True,
    )
    assert server.authenticator.attempts == [(USER, PASSWORD, True)]


async def test_a_wrong_password_is_a_permanent_failure_and_not_accepted(serve, server_tls, ca_file):
    server = serve(tls_context=server_tls, require_starttls=True, authenticator=True)
    gateway = SmtpGateway(
        config(server.port, security="starttls", username=USER, password="wrong", ca_file=ca_file)
    )
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(a_message())
    assert f"did not accept the username {USER}" in refused.value.reason
    assert "535" in refused.value.reason
    assert server.handler.delivered == []

    check = await gateway.check()
    assert (check.reachable, check.accepted, check.ok) == (True, False, False)
    assert USER in check.detail


async def test_implicit_tls_delivers(serve, server_tls, ca_file):
    server = serve(implicit_tls=server_tls)
    gateway = SmtpGateway(config(server.port, security="tls", ca_file=ca_file))
    await gateway.send(a_message())

    [got] = server.handler.delivered
    assert got.message.get_content() == BODY
    check = await gateway.check()
    assert (check.reachable, check.accepted, check.ok) == (True, None, True)


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_an_untrusted_certificate_is_refused_before_the_password(serve, server_tls, security):
    if security == "tls":
        server = serve(implicit_tls=server_tls, authenticator=True)
    else:
        server = serve(tls_context=server_tls, require_starttls=True, authenticator=True)
    # No ca_file: the system's store does not know the test CA.
    gateway = SmtpGateway(config(server.port, security=security, username=USER, password=PASSWORD))
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(a_message())
    assert "certificate was not trusted" in refused.value.reason
    assert "ca_file" in refused.value.reason
    assert server.authenticator.attempts == []
    assert server.handler.delivered == []

    check = await gateway.check()
    assert (check.reachable, check.ok) == (False, False)
    assert "certificate was not trusted" in check.detail


async def test_starttls_required_but_not_offered_sends_no_password(serve):
    # A server offering AUTH in clear and no STARTTLS (as a downgrade attacker would).
    server = serve(authenticator=True, auth_require_tls=False)
    gateway = SmtpGateway(
        config(server.port, security="starttls", username=USER, password=PASSWORD)
    )
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(a_message())
    assert "does not offer STARTTLS" in refused.value.reason
    assert server.authenticator.attempts == []
    assert server.handler.delivered == []

    check = await gateway.check()
    assert (check.reachable, check.ok) == (False, False)
    assert server.authenticator.attempts == []


async def test_no_security_against_a_server_that_requires_tls_says_so(serve, server_tls):
    server = serve(tls_context=server_tls, require_starttls=True)
    with pytest.raises(PermanentFailure) as refused:
        await SmtpGateway(config(server.port, security="none")).send(a_message())
    assert "requires TLS (530" in refused.value.reason
    assert 'security = "starttls"' in refused.value.reason
    assert server.handler.delivered == []


async def test_check_names_a_sender_that_is_not_an_address():
    check = await SmtpGateway(config(1, sender="switchboard")).check()
    assert (check.configured, check.accepted, check.ok) == (True, False, False)
    assert "[smtp] sender 'switchboard' is not an email address" in check.detail


async def test_no_security_with_a_username_never_sends_the_password(serve):
    server = serve(authenticator=True, auth_require_tls=False)
    gateway = SmtpGateway(config(server.port, security="none", username=USER, password=PASSWORD))
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(a_message())
    assert "does not send a password without TLS" in refused.value.reason
    check = await gateway.check()
    assert (check.reachable, check.accepted, check.ok) == (True, False, False)
    assert server.authenticator.attempts == []
    assert server.handler.delivered == []


async def test_nothing_listening_is_temporary_and_unreachable(closed_port):
    gateway = SmtpGateway(config(closed_port))
    with pytest.raises(TemporaryFailure) as failed:
        await gateway.send(a_message())
    assert f"127.0.0.1:{closed_port} refused the connection" in failed.value.reason

    check = await gateway.check()
    assert (check.configured, check.reachable, check.ok) == (True, False, False)
    assert "refused the connection" in check.detail


async def test_a_server_that_never_answers_times_out_temporarily():
    with socket.socket() as sock:  # listens, never accepts: no greeting ever comes
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        gateway = SmtpGateway(config(port, timeout_seconds=0.3))
        with pytest.raises(TemporaryFailure) as failed:
            await gateway.send(a_message())
    assert failed.value.reason == f"the mail server 127.0.0.1:{port} did not answer within 0.3 s"


async def test_a_450_reply_is_temporary(serve):
    server = serve(rcpt_reply="450 4.2.1 mailbox busy, try later")
    with pytest.raises(TemporaryFailure) as failed:
        await SmtpGateway(config(server.port)).send(a_message())
    assert f"refused the recipient {ANN}: 450 4.2.1 mailbox busy" in failed.value.reason
    assert server.handler.delivered == []


async def test_a_550_reply_is_permanent_and_names_the_recipient(serve):
    server = serve(rcpt_reply="550 5.1.1 no such user here")
    with pytest.raises(PermanentFailure) as refused:
        await SmtpGateway(config(server.port)).send(a_message())
    assert f"refused the recipient {ANN}: 550 5.1.1 no such user here" in refused.value.reason
    assert server.handler.delivered == []


@pytest.mark.parametrize("to", ["not an address", "ann@", f"{ANN}\r\nBcc: eve@example.net"])
async def test_a_bad_recipient_is_refused_before_connecting(serve, to):
    server = serve()
    with pytest.raises(PermanentFailure) as refused:
        await SmtpGateway(config(server.port)).send(a_message(to))
    assert "is not an email address" in refused.value.reason
    assert server.handler.delivered == []


async def test_an_unreadable_ca_file_is_named(tmp_path: Path):
    gateway = SmtpGateway(config(1, security="tls", ca_file=str(tmp_path / "missing.pem")))
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(a_message())
    assert f"ca_file {tmp_path / 'missing.pem'} cannot be used" in refused.value.reason


# -- switchboard email test -----------------------------------------------------------


def test_email_test_sends_through_the_configured_server(serve, tmp_path: Path):
    server = serve()
    env = {
        "SWITCHBOARD_SMTP_HOST": "127.0.0.1",
        "SWITCHBOARD_SMTP_PORT": str(server.port),
        "SWITCHBOARD_SMTP_SECURITY": "none",
        "SWITCHBOARD_SMTP_SENDER": SENDER,
    }
    result = switchboard("email", "test", "--to", ANN, db=None, home=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"sent a test message to {ANN} through 127.0.0.1:{server.port} (none)\n"
    )
    [got] = server.handler.delivered
    assert got.rcpt_tos == [ANN]
    assert got.message["Subject"] == "Switchboard test message"
    assert got.message["From"] == SENDER
    assert f"127.0.0.1:{server.port} (security: none)" in got.message.get_content()


def test_email_test_without_smtp_says_what_to_configure(tmp_path: Path):
    result = switchboard("email", "test", "--to", ANN, db=None, home=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: email is not configured: add an [smtp] section to ")
    assert str(tmp_path / "xdg-config" / "switchboard" / "config.toml") in line
    assert "host" in line
    assert "sender" in line


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("ann-at-example.com", "error: --to 'ann-at-example.com' is not an email address"),
        (ANN, "error: the test message was not sent: the mail server 127.0.0.1:"),
    ],
    ids=["bad address", "nothing listening"],
)
def test_email_test_refusals_are_one_line(tmp_path: Path, closed_port: int, to, expected):
    env = {
        "SWITCHBOARD_SMTP_HOST": "127.0.0.1",
        "SWITCHBOARD_SMTP_PORT": str(closed_port),
        "SWITCHBOARD_SMTP_SECURITY": "none",
        "SWITCHBOARD_SMTP_SENDER": SENDER,
    }
    result = switchboard("email", "test", "--to", to, db=None, home=tmp_path, env=env)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(expected)


def test_email_test_body_is_rendered_from_its_template_as_before():
    import console.cli  # noqa: F401 - the CLI loads its commands; importing one alone is a cycle
    from console.commands.email import TEST_BODY

    values = {"host": "smtp.example.org", "port": "587", "security": "starttls"}
    body = TEST_BODY.render({**values, "sent_at": "2026-11-30T17:30:00+00:00"})
    assert body == (
        "This is a test message from Switchboard (`switchboard email test`).\n"
        "\n"
        "It went through the mail server smtp.example.org:587 (security: starttls)"
        " at 2026-11-30T17:30:00+00:00.\n"
        "If you can read it, Switchboard can send email.\n"
    )
    # A configured value is text: braces in it are not placeholders.
    odd = TEST_BODY.render({**values, "host": "{{port}}", "sent_at": "now"})
    assert "the mail server {{port}}:587 (security: starttls) at now." in odd
