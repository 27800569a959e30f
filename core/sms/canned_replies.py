"""R3: canned replies in the composer: which ones an agent may use, and their text.

A canned reply is an SMS template (``configuration.SmsTemplate``) granted to
permission profiles. Which ones a principal may use is the USE_TEMPLATE rule
of ``authz``, asked per template, so the picker and the render cannot
disagree. The text comes from the one renderer (core/templates.py) with the
conversation's values for ``CANNED_REPLY_FIELDS``: values are inserted as
they are, never parsed again, so a contact named ``{{agent_name}}`` stays
literally that.
"""

from __future__ import annotations

from core.db import Database
from core.errors import NotFound
from core.people.authz import Action, Actor, TemplateAccess, allows, authorize
from core.permissions.configuration import CANNED_REPLY_FIELDS, SmsTemplate, list_templates
from core.sms import conversations
from core.templates import compile_template


async def templates_for(db: Database, actor: Actor) -> list[SmsTemplate]:
    """The canned replies ``actor`` may use, by name; none for a principal without any."""
    # Every template is read: a centre keeps a few dozen, and asking the rule
    # for each keeps the grant logic in one place (authz) rather than in SQL too.
    return [
        template
        for template in await list_templates(db)
        if allows(actor, Action.USE_TEMPLATE, TemplateAccess(template.id))
    ]


async def reply_values(db: Database, actor: Actor, conversation_id: int) -> dict[str, str]:
    """The values of ``CANNED_REPLY_FIELDS`` for a reply in this conversation.

    NotAllowed unless ``actor`` may view it. A contact without a name gives an
    empty ``contact_name`` (the renderer leaves it blank), not their number:
    "Hi +14155550123" reads worse than "Hi ".
    """
    conversation = await conversations.get(db, actor, conversation_id)
    # A field added to CANNED_REPLY_FIELDS is filled here too, or templates using
    # it would quietly render it blank (tests/core/test_canned_replies.py checks).
    return {
        "contact_name": conversation.contact_name,
        "agent_name": actor.label,
        "our_number": conversation.number,
    }


async def render(db: Database, actor: Actor, template_id: int, conversation_id: int) -> str:
    """The text of canned reply ``template_id`` for this conversation, ready to edit and send.

    NotAllowed when the actor's profile does not have the template (USE_TEMPLATE)
    or cannot see the conversation; NotFound for a template deleted meanwhile.
    """
    authorize(actor, Action.USE_TEMPLATE, TemplateAccess(template_id))
    body = await db.scalar("SELECT body FROM sms_templates WHERE id = ?", (template_id,))
    if not isinstance(body, str):
        raise NotFound(f"no SMS template with id {template_id} (deleted meanwhile?)")
    values = await reply_values(db, actor, conversation_id)
    return compile_template(body, CANNED_REPLY_FIELDS).render(values)
