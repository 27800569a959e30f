"""email test: check the [smtp] configuration by sending a real message."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from console.options import run
from console.safe_text import printable
from core.delivery.gateway import OutboundEmail, PermanentFailure, TemporaryFailure
from core.errors import ConfigProblem, NotDelivered
from core.templates import Field, Fields, compile_template
from providers import config as provider_config
from providers import wiring

SUBJECT = "Switchboard test message"

# The test message is a notice like any other, so it goes through the one
# renderer. The configuration does not bound the host's length, so neither
# does its field: the test must try whatever it was given, as it always has.
TEST_FIELDS = Fields(
    [
        Field("host", "Mail server", 100_000),
        Field("port", "Port", 5, gsm7_only=True),
        Field("security", "Security", 8, gsm7_only=True),
        Field("sent_at", "Time sent", 64, gsm7_only=True),
    ]
)
TEST_BODY = compile_template(
    "This is a test message from Switchboard (`switchboard email test`).\n"
    "\n"
    "It went through the mail server {{host}}:{{port}} (security: {{security}}) at {{sent_at}}.\n"
    "If you can read it, Switchboard can send email.\n",
    TEST_FIELDS,
)


@click.group("email")
def email_group() -> None:
    """Email through the mail server set in config.toml ([smtp])."""


@email_group.command("test")
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Who gets the test message.")
def email_test(to: str) -> None:
    """Send a test message to ADDRESS through the configured mail server."""
    click.echo(run(send_test(to)))


async def send_test(to: str) -> str:
    """Send the test message; returns the line to print, raises a SwitchboardError."""
    # Imported here: aiosmtplib loads only when email is used (the console starts faster).
    from providers.smtp import email_address

    address = email_address(to, "--to")
    config = wiring.load_config()
    smtp = config.smtp
    gateway = wiring.email_gateway(config)
    if smtp is None or gateway is None:
        path = config.path or provider_config.config_path()
        raise ConfigProblem(
            f"email is not configured: add an [smtp] section to {path} with host, port,"
            ' security ("starttls", "tls" or "none") and sender (the From address); with a'
            " username, put its password in SWITCHBOARD_SMTP_PASSWORD or password_file"
        )
    through = f"{smtp.host}:{smtp.port} ({smtp.security})"
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    body = TEST_BODY.render(
        {"host": smtp.host, "port": str(smtp.port), "security": smtp.security, "sent_at": now}
    )
    try:
        await gateway.send(OutboundEmail(str(address), SUBJECT, body))
    except (TemporaryFailure, PermanentFailure) as exc:
        raise NotDelivered(f"the test message was not sent: {exc.reason}") from None
    return printable(f"sent a test message to {address.addr_spec} through {through}")
