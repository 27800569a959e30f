"""C3: the inbound hook that turns a case contact's SMS reply into a case note.

Which case a reply answers, when its phone is an SMS-enabled contact of
open cases: the one whose code the text quotes as a word (any case);
otherwise the one whose case text most recently went to that phone from the
number it wrote to. Neither: it is a normal conversation message and this
hook does nothing.

What then happens is the location's choice (``locations.direct_reply``).
On: the text becomes a note of the case by that contact, and the chain stops
there: it is not a chat for agents, so no wait, alert or routing offer. Off:
the message goes on as a normal conversation message (agents answer it), and
the contact is told once per case, by SMS with their case page link, that
this location takes no replies by SMS.

A STOP never reaches this hook (the keyword hook ends the chain); START and
HELP are answered by it and make no note. The inbound message is marked with
its case (``messages.case_id``) either way, so its conversation can show it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Final

from core.cases import links, notes
from core.db import Tx
from core.delivery import outbox
from core.errors import InvalidInput, SwitchboardError
from core.records import record
from core.sms import inbound
from core.sms.optout import Intent

log = logging.getLogger(__name__)


# Per message: the open cases its phone is texted on as an SMS-enabled contact, with
# the latest case text of each to that phone from the number the message went to.
# No such case for any phone of a group (nearly all traffic): one indexed lookup
# of case_contacts per message, and no row.
_CANDIDATES = """SELECT j.value ->> 0 AS phone, j.value ->> 1 AS number,
    c.id AS case_id, c.code, min(cc.contact_id) AS contact_id,
    l.direct_reply, l.sender, l.name AS location,
    (SELECT max(m.id) FROM messages m WHERE m.recipient = j.value ->> 0
       AND m.sender = j.value ->> 1 AND m.case_id = c.id AND m.purpose = 'case') AS last_text
 FROM json_each(:messages) AS j
 JOIN case_contacts cc ON cc.phone = j.value ->> 0 AND cc.sms_enabled = 1
 JOIN cases c ON c.id = cc.case_id AND c.status = 'open'
 JOIN locations l ON l.id = c.location_id
 GROUP BY j.key, c.id"""

NO_REPLY_NOTICE: Final = (
    "{location} does not take replies by SMS, so your message did not reach Case {code}."
    " Read and write to the case here: {url}"
)


@record
class _Candidate:
    case_id: int
    code: str
    contact_id: int
    direct_reply: bool
    sender: str
    location: str
    last_text: int | None


@record
class _Match:
    message: inbound.Inbound
    case: _Candidate


def _quotes(body: str, code: str) -> bool:
    """``body`` holds ``code`` as a word, in any case."""
    pattern = r"(?<![0-9A-Za-z])" + re.escape(code) + r"(?![0-9A-Za-z])"
    return re.search(pattern, body, re.IGNORECASE) is not None


def choose(body: str, candidates: Sequence[_Candidate]) -> _Candidate | None:
    """The case ``body`` answers among its phone's open cases, or None (the rule above)."""
    quoted = [c for c in candidates if _quotes(body, c.code)]
    if quoted:
        # Several codes quoted: the one texted most recently, then the newest case.
        return max(quoted, key=lambda c: (c.last_text or 0, c.case_id))
    texted = [c for c in candidates if c.last_text is not None]
    return max(texted, key=lambda c: c.last_text or 0) if texted else None


def _note_text(body: str) -> str | None:
    """The reply as a note holds it (the notes' one rule), or None: a text a note cannot
    hold stays a conversation message, which agents read, so nothing is lost."""
    try:
        return notes.check_body(body)
    except InvalidInput:
        return None


def _ahead(arriving: Sequence[inbound.Arriving]) -> inbound.Read:
    """The open cases of each (phone, our number) of the group, read with its look-up."""
    # Keywords are the keyword hook's: START and HELP are not case replies.
    pairs = sorted({(a.phone, a.number) for a in arriving if a.keyword is None})
    return _CANDIDATES, {"messages": json.dumps(pairs)}


async def _reply(message: inbound.Inbound) -> inbound.HookResult | None:
    return (await _reply_many([message]))[0]


async def _reply_many(
    messages: Sequence[inbound.Inbound],
) -> list[inbound.HookResult | None]:
    """One statement for a group none of whose phones is on an open case; a few more
    for the replies that are, plus one per contact told that replies are off."""
    results: list[inbound.HookResult | None] = [None] * len(messages)
    # Keywords were answered by the keyword hook: START and HELP are not case replies.
    asked = [(i, m) for i, m in enumerate(messages) if m.keyword is None]
    if not asked:
        return results
    tx = messages[0].tx
    rows = messages[0].ahead[CASE_REPLIES.name]
    if not rows:
        return results
    candidates: dict[tuple[str, str], list[_Candidate]] = {}
    for r in rows:
        candidates.setdefault((r["phone"], r["number"]), []).append(
            _Candidate(
                r["case_id"],
                r["code"],
                r["contact_id"],
                bool(r["direct_reply"]),
                r["sender"],
                r["location"],
                r["last_text"],
            )
        )
    matched: dict[int, _Match] = {}
    for i, message in asked:
        case = choose(message.body, candidates.get((message.phone, message.number.e164), ()))
        if case is not None:
            matched[i] = _Match(message, case)
    if not matched:
        return results
    await tx.execute(
        "UPDATE messages SET case_id = j.value ->> 1 FROM json_each(?) AS j"
        " WHERE messages.id = j.value ->> 0",
        (json.dumps([[m.message.message_id, m.case.case_id] for m in matched.values()]),),
    )
    texts = {
        i: text
        for i, m in matched.items()
        if m.case.direct_reply and (text := _note_text(m.message.body)) is not None
    }
    await _note_many(tx, [(matched[i], text) for i, text in texts.items()])
    for i, m in matched.items():
        if i in texts:
            # A text that may ask to stop goes on to the agents too, who confirm or dismiss it.
            results[i] = inbound.HookResult(stop=m.message.intent is not Intent.POSSIBLE_OPT_OUT)
        elif not m.case.direct_reply:
            notice = await _tell_once(tx, m)
            results[i] = inbound.HookResult(() if notice is None else (notice,))
    return results


async def _note_many(tx: Tx, matches: Sequence[tuple[_Match, str]]) -> None:
    """The replies as notes by their contacts, in arrival order, in one statement."""
    if not matches:
        return
    now = tx.now_ms
    made = await tx.fetchall(
        "INSERT INTO case_notes (case_id, kind, source, author_contact_id, body, message_id,"
        " created_at) SELECT j.value ->> 0, 'note', 'sms', j.value ->> 1, j.value ->> 2,"
        " j.value ->> 3, :now FROM json_each(:notes) AS j ORDER BY j.key RETURNING id, case_id",
        {
            "now": now,
            "notes": json.dumps(
                [
                    [m.case.case_id, m.case.contact_id, text, m.message.message_id]
                    for m, text in matches
                ]
            ),
        },
    )
    await tx.execute(
        "UPDATE cases SET updated_at = :now WHERE id IN (SELECT value FROM json_each(:ids))",
        {"now": now, "ids": json.dumps(sorted({r["case_id"] for r in made}))},
    )
    await tx.emit_many(
        "case.note",
        "case",
        [(r["case_id"], {"note_id": r["id"]}) for r in sorted(made, key=lambda r: r["id"])],
    )


async def _tell_once(tx: Tx, match: _Match) -> int | None:
    """Text the contact, the first time only, that the location takes no SMS replies;
    the ID of that SMS, or None (told already, or it cannot go: opted out)."""
    case = match.case
    await tx.execute("SAVEPOINT case_reply_notice")
    try:
        claimed = await tx.fetchone(
            "UPDATE case_contacts SET no_reply_notice_at = ? WHERE case_id = ?"
            " AND contact_id = ? AND no_reply_notice_at IS NULL RETURNING phone",
            (tx.now_ms, case.case_id, case.contact_id),
        )
        notice = None
        if claimed is not None:
            url = await links.issue_in(tx, case.case_id, case.contact_id)
            notice = await outbox.queue(
                tx,
                outbox.CASE,
                case.sender,
                claimed["phone"],
                NO_REPLY_NOTICE.format(location=case.location, code=case.code, url=url),
            )
            await tx.execute("UPDATE messages SET case_id = ? WHERE id = ?", (case.case_id, notice))
    except SwitchboardError as refused:
        # Opted out, or the location's sender cannot send: the inbound message is
        # kept all the same, and the contact is told on a later reply that can go.
        await tx.execute("ROLLBACK TO case_reply_notice")
        await tx.execute("RELEASE case_reply_notice")
        log.info("case %s: no-reply notice not sent (%s)", case.code, refused)
        return None
    await tx.execute("RELEASE case_reply_notice")
    return notice


CASE_REPLIES = inbound.Hook("case_replies", _reply, _reply_many, _ahead)
"""C3: right after the keywords, so a reply that becomes a note starts no wait."""
