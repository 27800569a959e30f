"""Contact tags: short labels a campaign's live filter can ask for (``tag=vip``).

A tag is 1 to 40 characters of text with no control characters and no ``;``
(which separates tags in a contacts CSV file's ``tags`` column), trimmed.
Tags are case-insensitive: "VIP" and "vip" are one tag (the column's
collation), and a contact keeps the spelling it was first given. Anyone who
may edit contacts may tag them (Action.EDIT_CONTACTS).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from core.db import Database, Tx
from core.errors import InvalidInput, NotFound
from core.people.authz import Action, Actor, authorize
from core.text import is_utf8, refuse_control_characters

MAX_TAG: Final = 40
MAX_TAGS_AT_ONCE: Final = 100


def check_tag(value: str) -> str:
    """The tag trimmed; InvalidInput naming the rule it breaks."""
    tag = value.strip()
    if not tag:
        raise InvalidInput("a tag needs at least one character")
    if len(tag) > MAX_TAG:
        raise InvalidInput(f"tag {tag[:20]!r}… is longer than {MAX_TAG} characters")
    if not is_utf8(tag):
        raise InvalidInput(f"tag {tag!r} must be text (it holds a lone surrogate)")
    refuse_control_characters(f"tag {tag!r}", tag)
    if ";" in tag:
        raise InvalidInput(f"tag {tag!r} holds a ';', which separates tags in a CSV file")
    return tag


def check_tags(values: Iterable[str]) -> list[str]:
    """Each tag checked, in order, once whatever its case."""
    seen: dict[str, str] = {}
    for value in values:
        tag = check_tag(value)
        seen.setdefault(tag.lower(), tag)
    if not seen:
        raise InvalidInput("name at least one tag")
    if len(seen) > MAX_TAGS_AT_ONCE:
        raise InvalidInput(f"at most {MAX_TAGS_AT_ONCE} tags at once")
    return list(seen.values())


async def _ensure_contact(tx: Tx, contact_id: int) -> None:
    if await tx.scalar("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)) is None:
        raise NotFound(f"no contact with id {contact_id}")


async def tag(db: Database, actor: Actor, contact_id: int, tags: Iterable[str]) -> list[str]:
    """Give the contact these tags (those it has already are kept as spelled); its tags after."""
    authorize(actor, Action.EDIT_CONTACTS)
    wanted = check_tags(tags)
    async with db.transaction() as tx:
        await _ensure_contact(tx, contact_id)
        await tx.executemany(
            "INSERT OR IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
            [(contact_id, t) for t in wanted],
        )
        await tx.emit("contact.tagged", "contact", contact_id, actor_id=actor.id)
        return await _tags_in(tx, contact_id)


async def untag(db: Database, actor: Actor, contact_id: int, tags: Iterable[str]) -> list[str]:
    """Take these tags off the contact (any case; one it lacks is ignored); its tags after."""
    authorize(actor, Action.EDIT_CONTACTS)
    unwanted = check_tags(tags)
    async with db.transaction() as tx:
        await _ensure_contact(tx, contact_id)
        await tx.executemany(
            "DELETE FROM contact_tags WHERE contact_id = ? AND tag = ?",
            [(contact_id, t) for t in unwanted],
        )
        await tx.emit("contact.tagged", "contact", contact_id, actor_id=actor.id)
        return await _tags_in(tx, contact_id)


async def tags_of(db: Database, actor: Actor, contact_id: int) -> list[str]:
    """The contact's tags, sorted whatever their case."""
    authorize(actor, Action.VIEW_CONTACTS)
    return await _tags_in(db, contact_id)


async def _tags_in(q: Database | Tx, contact_id: int) -> list[str]:
    rows = await q.fetchall(
        "SELECT tag FROM contact_tags WHERE contact_id = ? ORDER BY tag", (contact_id,)
    )
    return [r[0] for r in rows]


async def set_many_in(tx: Tx, pairs: Iterable[tuple[int, str]]) -> None:
    """Store (contact id, checked tag) pairs in one statement: for imports."""
    await tx.executemany(
        "INSERT OR IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)", list(pairs)
    )
