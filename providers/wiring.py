"""The one place that chooses and builds providers, from the configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.db import Database, is_demo
from core.delivery.gateway import EmailGateway, SmsGateway
from providers import config as provider_config
from providers.checks import Check
from providers.config import Config
from providers.sandbox import SandboxGateway

if TYPE_CHECKING:
    from core.scheduling.worker import Worker
    from providers.webhooks import WebhookServer


def load_config() -> Config:
    """The configuration file and environment; raises ConfigProblem when unusable."""
    return provider_config.load()


async def sms_gateway(db: Database, config: Config) -> SmsGateway:
    """Sinch when configured, else the sandbox.

    A demo database always gets the sandbox, so demo data never texts a real phone.
    """
    if config.sms_provider == "sinch" and config.sinch is not None and not await is_demo(db):
        # Imported here: the SDK (and pydantic) cost a few hundred ms at start-up.
        from providers.sinch_sms import SinchGateway

        return SinchGateway(config.sinch, config.webhooks)
    return SandboxGateway(db)


def email_gateway(config: Config) -> EmailGateway | None:
    """The SMTP server when configured; None means email is off."""
    if config.smtp is None:
        return None
    from providers.smtp import SmtpGateway

    return SmtpGateway(config.smtp)


def webhook_server(db: Database, config: Config, worker: Worker | None) -> WebhookServer:
    from providers.webhooks import WebhookServer

    secret = config.sinch.webhook_secret if config.sinch is not None else ""
    return WebhookServer(db, config.webhooks, secret=secret, worker=worker)


async def checks(config: Config) -> list[Check]:
    """Each provider: configured, reachable, credentials accepted (for `config check`)."""
    found: list[Check] = []
    if config.sms_provider == "sinch" and config.sinch is not None:
        from providers.sinch_sms import SinchGateway

        gateway = SinchGateway(config.sinch, config.webhooks)
        try:
            found.append(await gateway.check())
        finally:
            gateway.close()
        found.append(await _callbacks(config))
    else:
        found.append(
            Check(
                "SMS (sandbox)",
                configured=True,
                detail="messages stay in the database and no phone receives them;"
                " configure [sinch] to send real SMS",
            )
        )
    if config.smtp is None:
        found.append(
            Check(
                "email (SMTP)",
                configured=False,
                detail="no email is sent; add [smtp] host, port, security and sender",
            )
        )
    else:
        # The SMTP gateway itself: checking is not part of the EmailGateway protocol.
        from providers.smtp import SmtpGateway

        found.append(await SmtpGateway(config.smtp).check())
    return found


async def _callbacks(config: Config) -> Check:
    """Whether Sinch can tell us about replies and deliveries: the public URL answers."""
    if not config.webhooks.public_url:
        return Check(
            "Sinch callbacks",
            configured=False,
            detail="[webhooks] public_url is not set, so Sinch cannot send replies or delivery"
            " reports: sent messages will stay 'sent' and replies will not arrive",
        )
    if config.sinch is not None and not config.sinch.webhook_secret:
        return Check(
            "Sinch callbacks",
            configured=True,
            detail=f"Sinch posts to {config.webhooks.callback_url}, but no webhook secret is set,"
            " so anyone who finds the address can post fake replies; set"
            " SWITCHBOARD_SINCH_WEBHOOK_SECRET",
            accepted=False,
        )
    import httpx  # here: httpx loads click and more, which the console need not pay for

    health = config.webhooks.public_url.rstrip("/") + "/healthz"
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            answer = await client.get(health)
    except httpx.HTTPError as exc:
        return Check(
            "Sinch callbacks",
            configured=True,
            reachable=False,
            detail=f"{health} did not answer ({type(exc).__name__}): is `switchboard worker`"
            f" running, and does {config.webhooks.public_url} lead to"
            f" {config.webhooks.host}:{config.webhooks.port}?",
        )
    if answer.status_code != 200:
        return Check(
            "Sinch callbacks",
            configured=True,
            reachable=False,
            detail=f"{health} answered {answer.status_code}, not Switchboard's 200",
        )
    return Check(
        "Sinch callbacks",
        configured=True,
        reachable=True,
        detail=f"Sinch posts to {config.webhooks.callback_url}, signed, and the worker answers"
        " there",
    )
