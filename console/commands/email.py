"""email test: check the [smtp] configuration by sending a real message."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from console.cli import run
from core.errors import SwitchboardError
from core.gateway import OutboundEmail, PermanentFailure, TemporaryFailure
from providers import config as provider_config

SUBJECT = "Switchboard test message"


class EmailNotConfigured(SwitchboardError):
    """There is no [smtp] section (or environment) to send email with."""


class EmailNotSent(SwitchboardError):
    """The mail server did not take the message."""


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
    from providers.smtp import SmtpGateway, email_address

    address = email_address(to, "--to")
    config = provider_config.load()
    smtp = config.smtp
    if smtp is None:
        path = config.path or provider_config.config_path()
        raise EmailNotConfigured(
            f"email is not configured: add an [smtp] section to {path} with host, port,"
            ' security ("starttls", "tls" or "none") and sender (the From address); with a'
            " username, put its password in SWITCHBOARD_SMTP_PASSWORD or password_file"
        )
    through = f"{smtp.host}:{smtp.port} ({smtp.security})"
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    body = (
        "This is a test message from Switchboard (`switchboard email test`).\n"
        "\n"
        f"It went through the mail server {smtp.host}:{smtp.port}"
        f" (security: {smtp.security}) at {now}.\n"
        "If you can read it, Switchboard can send email.\n"
    )
    try:
        await SmtpGateway(smtp).send(OutboundEmail(str(address), SUBJECT, body))
    except (TemporaryFailure, PermanentFailure) as exc:
        raise EmailNotSent(f"the test message was not sent: {exc.reason}") from None
    return f"sent a test message to {address.addr_spec} through {through}"


def register(group: click.Group) -> None:
    group.add_command(email_group)
