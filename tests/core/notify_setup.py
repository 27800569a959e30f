"""Notification profiles for the closing tests, written with SQL: the schema is the
contract with the part that manages them (core.notify.profiles)."""

from __future__ import annotations

from core.db import Database


async def add_profile(
    db: Database,
    alias: str,
    *,
    sms: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
    sms_mode: str = "default",
    sms_body: str | None = None,
    email_mode: str = "default",
    email_subject: str | None = None,
    email_body: str | None = None,
    hold: str = "off",
) -> int:
    async with db.transaction() as tx:
        profile_id = await tx.insert(
            "INSERT INTO notification_profiles (alias, email_on, email_mode, email_subject,"
            " email_body, sms_on, sms_mode, sms_body, hold, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
            (
                alias,
                int(bool(emails)),
                email_mode,
                email_subject,
                email_body,
                int(bool(sms)),
                sms_mode,
                sms_body,
                hold,
            ),
        )
        await tx.executemany(
            "INSERT INTO notification_profile_contacts (profile_id, kind, value, position)"
            " VALUES (?, ?, ?, ?)",
            [(profile_id, "sms", n, i) for i, n in enumerate(sms)]
            + [(profile_id, "email", e, i) for i, e in enumerate(emails)],
        )
    return profile_id


async def add_group(db: Database, name: str, members: list[int]) -> int:
    async with db.transaction() as tx:
        group_id = await tx.insert(
            "INSERT INTO notification_groups (name, created_at) VALUES (?, 0)", (name,)
        )
        await tx.executemany(
            "INSERT INTO notification_group_members (group_id, profile_id) VALUES (?, ?)",
            [(group_id, m) for m in members],
        )
    return group_id
