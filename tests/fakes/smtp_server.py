"""A real aiosmtpd server on 127.0.0.1 that keeps what it receives, for the email outbox.

Its thread runs its own event loop, so the client under test talks to it over
real sockets. Replies can be set per recipient (a refusal for one address
among several) or for the next DATA commands (a temporary failure that
passes).
"""

from __future__ import annotations

import asyncio
import email
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """An aiosmtpd handler: what it was given, and the replies it makes."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    """Recipient -> the reply to its RCPT (``550 5.1.1 no such user``); others get 250."""
    data_replies: list[str] = field(default_factory=list)
    """Replies for the next DATA commands, one each, then 250."""
    received: list[Received] = field(default_factory=list)
    sessions: int = 0
    """Connections opened (a session starts with the greeting)."""
    data_delay: float = 0.0
    """Seconds the server takes over each DATA (a slow server; the worker is killed mid-batch)."""
    parse: bool = True
    """False keeps only the Message-ID (the benchmark: parsing is not the server's job)."""
    message_ids: list[str] = field(default_factory=list)
    port: int = 0
    """Where ``serving`` listens."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        if session.host_name is None:  # the first greeting of this connection
            with self._lock:
                self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        with self._lock:
            if self.data_replies:
                return self.data_replies.pop(0)
        if self.parse:
            content = envelope.content.replace(b"\r\n", b"\n")
            parsed = email.message_from_bytes(content, policy=default_policy)
            assert isinstance(parsed, EmailMessage)
            with self._lock:
                self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
                self.message_ids.append(str(parsed["Message-ID"]))
        else:
            head = envelope.content.split(b"\r\n\r\n", 1)[0]
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    with self._lock:
                        self.message_ids.append(line.split(b":", 1)[1].strip().decode())
        return "250 2.0.0 queued"

    def by_message_id(self) -> Counter[str]:
        with self._lock:
            return Counter(self.message_ids)


class LocalServer(Controller):
    """aiosmtpd on 127.0.0.1 on a port the system picks (port 0)."""

    def __init__(self, mailbox: Mailbox) -> None:
        super().__init__(
            mailbox,
            hostname="127.0.0.1",
            port=0,
            server_hostname="mail.test",
            ready_timeout=5.0,
        )
        self.mailbox = mailbox

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def serving(box: Mailbox) -> Iterator[Mailbox]:
    """``box`` behind aiosmtpd on 127.0.0.1 (``box.port``) for the block."""
    server = LocalServer(box)
    server.start()
    box.port = server.port
    try:
        yield box
    finally:
        server.stop()
