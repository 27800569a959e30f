"""Email through an SMTP server (aiosmtplib): the EmailGateway for alerts and reports.

Security follows ``[smtp] security``:

- ``tls``: TLS from the first byte (usually port 465);
- ``starttls``: a plain connection upgraded with STARTTLS, which the server must
  offer (usually port 587); a server that does not is refused before anything,
  least of all a password, is sent;
- ``none``: no encryption at all, for a relay on this machine or network. With a
  username configured this is refused: a password never travels in clear.

Certificates are checked against the system's store plus ``ca_file``. Every
failure becomes a TemporaryFailure (the server could not take the mail now:
unreachable, timed out, a 4xx reply) or a PermanentFailure (retrying will not
help: a 5xx reply, a certificate not trusted, a configuration that cannot
work), each with a sentence for the person reading it.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid

import aiosmtplib

from core.delivery.gateway import (
    OutboundEmail,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from core.errors import InvalidInput
from providers.checks import Check
from providers.config import SmtpConfig

LABEL = "email (SMTP)"
_REPLY_CHARS = 200


def email_address(text: str, what: str = "email address") -> Address:
    """One address (``ann@example.org`` or ``Ann <ann@example.org>``), or InvalidInput."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    problem = InvalidInput(
        f"{what} {shown!r} is not an email address (expected something like ann@example.org)"
    )
    if not text.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise problem
    try:
        header = default_policy.header_factory("To", text.strip())
        addresses = header.addresses
    except Exception:
        raise problem from None
    defects = [d for d in header.defects if type(d).__name__ != "NonASCIILocalPartDefect"]
    if defects or len(addresses) != 1:
        raise problem
    address: Address = addresses[0]
    if not address.username or not address.domain or " " in address.domain:
        raise problem
    return address


class SmtpGateway:
    """Sends through a connection kept open for several messages (``connection()``), or
    one message per connection (``send``); ``check()`` logs in without sending."""

    name = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._tls_context: ssl.SSLContext | None = None
        self._sender_address: Address | None = None

    @property
    def where(self) -> str:
        """``host:port``, as the messages name the server."""
        return f"{self.config.host}:{self.config.port}"

    def message(self, email: OutboundEmail) -> EmailMessage:
        """The message as it goes on the wire (From, To, Subject, Date, Message-ID, UTF-8)."""
        return self.envelope(email)[0]

    def envelope(self, email: OutboundEmail) -> tuple[EmailMessage, str, str]:
        """The message, and the envelope's sender and recipient (MAIL FROM, RCPT TO)."""
        sender = self._sender()
        recipient = self._recipient(email.to)
        message = EmailMessage()
        message["From"] = sender
        message["To"] = recipient
        message["Subject"] = " ".join(email.subject.split())
        message["Date"] = formatdate(localtime=True)
        # The outbox's fixed key: a resend after a crash (the server said 250,
        # we died before recording it) has the same ID, and mail clients show it once.
        message["Message-ID"] = (
            f"<{email.message_key}@{sender.domain}>"
            if email.message_key
            else make_msgid("switchboard", domain=sender.domain)
        )
        message.set_content(email.body, charset="utf-8")
        return message, sender.addr_spec, recipient.addr_spec

    async def send(self, email: OutboundEmail) -> None:
        """Hand ``email`` to the server; TemporaryFailure or PermanentFailure otherwise."""
        async with self.connection() as connection:
            await connection.send(email)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[SmtpConnection]:
        """One connection for several emails (the outbox's); QUIT when done."""
        connection = SmtpConnection(self)
        try:
            yield connection
        finally:
            await connection.close()

    async def check(self) -> Check:
        """Connect, secure the connection, log in and QUIT: what works, in plain words."""
        config = self.config
        how = f"the mail server {self.where} ({config.security})"
        try:
            self._sender()
        except PermanentFailure as exc:
            return Check(LABEL, True, accepted=False, detail=exc.reason)
        session = _Session(self)
        try:
            smtp = await session.open(log_in=config.security != "none")
            await _quit(smtp)
        except (PermanentFailure, TemporaryFailure) as exc:
            failure: PermanentFailure | TemporaryFailure | None = exc
        except Exception as exc:
            failure = self.failure(exc, session.stage)
            if failure is None:
                raise
        else:
            failure = None
        if failure is not None:
            if session.stage == "login":
                return Check(LABEL, True, reachable=True, accepted=False, detail=failure.reason)
            # Unreachable includes a connection that could not be made secure as configured.
            secured = session.stage not in ("connect", "starttls")
            return Check(LABEL, True, reachable=secured, detail=failure.reason)
        if config.username and config.security == "none":
            return Check(
                LABEL,
                True,
                reachable=True,
                accepted=False,
                detail=f"{how} answered, but {_NO_PASSWORD_IN_CLEAR}",
            )
        if config.username:
            return Check(
                LABEL,
                True,
                reachable=True,
                accepted=True,
                detail=f"{how} answered and accepted the username {config.username}",
            )
        return Check(
            LABEL,
            True,
            reachable=True,
            detail=f"{how} answered; no username is set, so mail is sent without logging in",
        )

    # -- internals ---------------------------------------------------------------------

    def _sender(self) -> Address:
        # Parsed once: header parsing is a good part of building each message.
        if self._sender_address is None:
            try:
                self._sender_address = email_address(self.config.sender, "[smtp] sender")
            except InvalidInput as exc:
                raise PermanentFailure(str(exc)) from None
        return self._sender_address

    def _recipient(self, text: str) -> Address:
        try:
            return email_address(text, "the recipient")
        except InvalidInput as exc:
            raise PermanentFailure(str(exc)) from None

    def refuse_password_in_clear(self) -> None:
        if self.config.username and self.config.security == "none":
            raise PermanentFailure(f"not sent: {_NO_PASSWORD_IN_CLEAR}")

    def tls_context(self) -> ssl.SSLContext:
        """The system's trusted certificates plus ``ca_file``; host names are checked."""
        if self._tls_context is None:
            context = ssl.create_default_context()
            if self.config.ca_file:
                try:
                    context.load_verify_locations(cafile=self.config.ca_file)
                except (OSError, ssl.SSLError) as exc:
                    reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None)
                    raise PermanentFailure(
                        f"[smtp] ca_file {self.config.ca_file} cannot be used: "
                        f"{reason or exc} (it should hold PEM certificates)"
                    ) from None
            self._tls_context = context
        return self._tls_context

    def failure(self, exc: BaseException, stage: str) -> TemporaryFailure | PermanentFailure | None:
        """``_failure``, but a temporary failure before the server took a message is the
        server's, not the email's (ServerUnavailable): the next email would meet it too."""
        failure = self._failure(exc, stage)
        if isinstance(failure, TemporaryFailure) and stage in _SESSION_STAGES:
            return ServerUnavailable(failure.reason, failure.retry_after)
        return failure

    def _failure(
        self, exc: BaseException, stage: str
    ) -> TemporaryFailure | PermanentFailure | None:
        """A readable failure for ``exc``; None when it is not a mail problem (a bug)."""
        config = self.config
        where = f"the mail server {self.where}"
        for link in _chain(exc):
            if isinstance(link, ssl.SSLCertVerificationError):
                detail = link.verify_message or link.reason or str(link)
                return PermanentFailure(
                    f"{where}: its TLS certificate was not trusted ({detail}); if it uses a"
                    " private certificate authority, set [smtp] ca_file to that CA's"
                    " certificate (PEM)"
                )
        for link in _chain(exc):
            if isinstance(link, ssl.SSLError):
                port_hint = (
                    'security = "tls" expects TLS from the start (usually port 465); for port'
                    ' 587 use security = "starttls"'
                    if config.security == "tls"
                    else "check [smtp] port and security"
                )
                return PermanentFailure(
                    f"{where}: the TLS handshake failed ({link.reason or link}); {port_hint}"
                )
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
            exc = exc.recipients[0]
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            reply = _reply(exc.code, exc.message)
            if exc.code == 530 and "starttls" in exc.message.lower():
                return PermanentFailure(
                    f'{where} requires TLS ({reply}); set [smtp] security = "starttls"'
                )
            if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
                what = f"refused the recipient {exc.recipient}"
            elif isinstance(exc, aiosmtplib.SMTPSenderRefused):
                what = f"refused the sender address {exc.sender} ([smtp] sender)"
            elif isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                what = (
                    f"did not accept the username {config.username} and its password"
                    if 500 <= exc.code < 600
                    else f"could not check the username {config.username} now"
                )
            elif isinstance(exc, aiosmtplib.SMTPDataError):
                what = "refused the message"
            elif isinstance(exc, aiosmtplib.SMTPConnectResponseError):
                what = "refused the connection"
            elif isinstance(exc, aiosmtplib.SMTPHeloError):
                what = "refused our greeting (EHLO)"
            elif stage == "starttls":
                what = "refused to start TLS (STARTTLS)"
            else:
                what = f"answered with an error {_DURING.get(stage, '')}".rstrip()
            sentence = f"{where} {what}: {reply}"
            if 400 <= exc.code < 500:
                return TemporaryFailure(sentence)
            return PermanentFailure(sentence)
        if isinstance(exc, TimeoutError):
            return TemporaryFailure(f"{where} did not answer within {config.timeout_seconds:g} s")
        if isinstance(exc, aiosmtplib.SMTPConnectError):
            for link in _chain(exc):
                if isinstance(link, socket.gaierror):
                    return TemporaryFailure(
                        f"the mail server name {config.host} could not be found (DNS:"
                        f" {link.strerror or link}); check [smtp] host"
                    )
                if isinstance(link, ConnectionRefusedError):
                    return TemporaryFailure(
                        f"{where} refused the connection: nothing is listening on port"
                        f" {config.port} there (check [smtp] host and port)"
                    )
                if isinstance(link, OSError) and link is not exc and link.strerror:
                    return TemporaryFailure(f"{where} could not be reached: {link.strerror}")
            return TemporaryFailure(f"{where} could not be reached: {exc.message}")
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
            during = _DURING.get(stage, "")
            return TemporaryFailure(f"{where} closed the connection unexpectedly {during}".rstrip())
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            return PermanentFailure(f"{where} cannot take this message: {exc.message}")
        if isinstance(exc, aiosmtplib.SMTPException):
            if stage == "login":
                return PermanentFailure(
                    f"{where} does not offer to log in (no AUTH) over this connection;"
                    " if it needs no login, remove [smtp] username"
                )
            return PermanentFailure(f"{where}: {exc.message}")
        if isinstance(exc, OSError):
            return TemporaryFailure(f"{where} could not be reached: {exc.strerror or exc}")
        return None


_NO_PASSWORD_IN_CLEAR = (
    '[smtp] security is "none" and a username is set: Switchboard does not send a'
    ' password without TLS; set security = "starttls" (or "tls"), or remove the username'
    " for a relay that needs no login"
)


# A refusal the server answered: aiosmtplib has reset the envelope (RSET), and
# the connection takes the next email.
_SERVER_REPLIES = (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)

_SESSION_STAGES = frozenset({"connect", "greeting", "starttls", "login"})

_DURING = {
    "connect": "while connecting",
    "greeting": "after our greeting (EHLO)",
    "starttls": "while starting TLS",
    "login": "while logging in",
    "send": "while taking the message",
}


class _Session:
    """Opens a connection step by step, remembering the step it is at for messages."""

    def __init__(self, gateway: SmtpGateway) -> None:
        self.gateway = gateway
        self.stage = "connect"

    async def open(self, *, log_in: bool) -> aiosmtplib.SMTP:
        config = self.gateway.config
        secure = config.security != "none"
        tls_context = self.gateway.tls_context() if secure else None
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=config.timeout_seconds,
            use_tls=config.security == "tls",
            start_tls=False,
            tls_context=tls_context,
        )
        self.stage = "connect"
        await smtp.connect()
        try:
            self.stage = "greeting"
            await smtp.ehlo()
            if config.security == "starttls":
                self.stage = "starttls"
                if not smtp.supports_extension("starttls"):
                    raise PermanentFailure(
                        f"the mail server {self.gateway.where} does not offer STARTTLS, which"
                        ' [smtp] security = "starttls" requires; nothing was sent (no password'
                        ' either). Use its TLS port with security = "tls", or fix the server'
                    )
                await smtp.starttls()
                self.stage = "greeting"
                await smtp.ehlo()
            if log_in and config.username:
                self.stage = "login"
                await smtp.login(config.username, config.password)
            self.stage = "ready"
        except BaseException:
            smtp.close()
            raise
        return smtp


class SmtpConnection:
    """Emails over one connection: opened at the first send, opened again after the
    server hangs up or a send leaves it in doubt, reused after a refusal (aiosmtplib
    resets the envelope with RSET when the server answers an error)."""

    def __init__(self, gateway: SmtpGateway) -> None:
        self.gateway = gateway
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(self, email: OutboundEmail) -> None:
        gateway = self.gateway
        message, envelope_from, envelope_to = gateway.envelope(email)
        gateway.refuse_password_in_clear()
        session = _Session(gateway)
        try:
            if self._smtp is None or not self._smtp.is_connected:
                self._drop()
                self._smtp = await session.open(log_in=True)
            session.stage = "send"
            await self._smtp.send_message(message, sender=envelope_from, recipients=[envelope_to])
        except BaseException as exc:
            if not isinstance(exc, _SERVER_REPLIES) or getattr(exc, "code", None) == 421:
                # A timeout, a broken connection, a cancelled task: what the server
                # has seen is unknown; a 421: the server is closing the channel
                # (RFC 5321 4.2.2). The next email starts on a fresh connection,
                # and this one is dropped without a QUIT to wait for.
                self._drop()
            if isinstance(exc, PermanentFailure | TemporaryFailure) or not isinstance(
                exc, Exception
            ):
                raise
            failure = gateway.failure(exc, session.stage)
            if failure is None:
                raise
            raise failure from exc

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            await _quit(smtp)

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    """Say goodbye; a server that hangs up first is no failure (the mail went)."""
    try:
        if smtp.is_connected:
            with suppress(aiosmtplib.SMTPException, OSError):
                await smtp.quit()
    finally:
        smtp.close()


def _reply(code: int, message: str) -> str:
    text = " ".join(message.split())
    if len(text) > _REPLY_CHARS:
        text = text[: _REPLY_CHARS - 3] + "..."
    return f"{code} {text}".strip()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__
