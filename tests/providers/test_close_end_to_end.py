"""P4 end to end: an agent closes a conversation with an outcome; the worker delivers
the SMS notice through the sandbox and the email notice to a real aiosmtpd on
127.0.0.1, which receives the rendered message. Notices show each delivery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.db import Database
from core.notify import closing, outcomes, profiles
from core.notify.profiles import ProfileDraft
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import numbers, receiving
from providers.config import SmtpConfig
from providers.sandbox import SandboxGateway
from providers.smtp import SmtpGateway
from tests.fakes.smtp_server import Mailbox, serving

OURS = "+14155550100"
CALLER = "+12125550140"
DESK_SMS = "+16465550170"
DESK_EMAIL = "desk@example.com"
SENDER = "Switchboard <switchboard@example.org>"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with serving(Mailbox()) as box:
        yield box


async def _closed(db: Database) -> closing.Closure:
    await numbers.add(db, SYSTEM, OURS, default=True)
    await profiles.add(
        db,
        SYSTEM,
        ProfileDraft(
            "Answering desk",
            emails=(DESK_EMAIL,),
            sms_numbers=(DESK_SMS,),
            email_on=True,
            sms_on=True,
            email_mode="custom",
            email_subject="{{outcome}} from {{first_name}} {{last_name}}",
            email_body="{{first_name}} called from {{phone}}:\n{{message}}",
        ),
    )
    await outcomes.switch(db, SYSTEM, "General Message", "Answering desk")
    received = await receiving.receive(db, CALLER, OURS, "Hello, is the office open?")
    data = {
        "first_name": "Zoë",
        "last_name": "Example",
        "phone": "+1 212 555 0141",
        "message": "Please call back about the invoice from March.",
    }
    return await closing.close(db, SYSTEM, received.conversation_id, "General Message", data)


async def test_a_close_reaches_the_desk_by_sms_and_by_email(db: Database, mailbox: Mailbox):
    closed = await _closed(db)
    port: int = mailbox.port
    smtp = SmtpGateway(SmtpConfig(host="127.0.0.1", port=port, security="none", sender=SENDER))
    worker = Worker(db, SandboxGateway(db), email_gateway=smtp)
    await worker.run_once()

    # The email, rendered, as the server received it.
    assert [r.rcpt_tos for r in mailbox.received] == [[DESK_EMAIL]]
    message = mailbox.received[0].message
    assert message["Subject"] == "General Message from Zoë Example"
    body = message.get_content()
    assert "Zoë called from +12125550141:" in body
    assert "Please call back about the invoice from March." in body

    # The SMS, rendered from the default message, handed to the sandbox.
    sms = await db.fetchone(
        "SELECT s.recipient, s.body FROM sandbox_messages s JOIN notices n"
        " ON n.message_id = s.message_id WHERE n.closure_id = ?",
        (closed.id,),
    )
    assert sms is not None
    assert sms["recipient"] == DESK_SMS
    assert sms["body"].startswith(
        "Zoë Example, +12125550141: Please call back about the invoice from March."
    )

    # The conversation's notices show both delivered onward.
    shown = await closing.notices_for(db, SYSTEM, closed.conversation_id)
    assert sorted((n.channel, n.status) for n in shown) == [("email", "sent"), ("sms", "sent")]
