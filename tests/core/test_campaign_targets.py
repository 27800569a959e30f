"""S1 targets: contacts at their first mobile, the live filter, CSV rows, the pool and moves.

Campaigns are written with SQL (the schema is the contract; creating them is
another part's). People with a campaign's rights are made as a manager
would: a permission profile with the right, the campaign in its
configuration.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.campaigns import filters, pool, progress, targets, targets_csv
from core.clock import FakeClock
from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people import agents, contacts, tags
from core.people.authz import SYSTEM, Actor
from core.people.contacts import ContactDraft
from core.permissions import profiles
from core.sms import sending
from tests.core.conftest import (
    CARL_LANDLINE,
    CARL_MOBILE,
    DEFAULT_NUMBER,
    DORA_MOBILE,
    ERIN_MOBILE,
    Team,
)

LANDLINE_GB = "+442079460018"  # a London fixed line: not a mobile


async def _campaign(db: Database, name: str = "Spring", status: str = "draft") -> int:
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO campaigns (name, sender, template, status, created_at, updated_at)"
            " VALUES (?, '+14155550100', 'Hi {{first_name}}', ?, 0, 0)",
            (name, status),
        )


async def _person(db: Database, username: str, campaign_id: int, **rights: bool) -> Actor:
    """Someone whose only profile has ``rights`` (and campaigns) and reaches the campaign."""
    profile = f"{username} profile"
    made = await profiles.add(db, SYSTEM, profile, campaigns=True, **rights)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO permission_profile_campaigns (profile_id, campaign_id) VALUES (?, ?)",
            (made.id, campaign_id),
        )
    agent = await agents.add(db, SYSTEM, username, username.title(), profile)
    return (await agents.get(db, agent.id)).as_actor()


async def _contact(db: Database, name: str, phones: list[tuple[str, str]], **kw: object) -> int:
    draft = ContactDraft(name=name, phones=phones, **kw)  # type: ignore[arg-type]
    return (await contacts.create(db, SYSTEM, draft)).id


async def _states(db: Database, campaign_id: int) -> dict[str, str]:
    rows = await db.fetchall(
        "SELECT phone, state FROM campaign_targets WHERE campaign_id = ?", (campaign_id,)
    )
    return {r[0]: r[1] for r in rows}


# --- contacts -----------------------------------------------------------------------


async def test_a_contact_is_targeted_once_at_its_first_mobile(db: Database, team: Team) -> None:
    cid = await _campaign(db)
    many = await _contact(
        db,
        "Mona Okafor",
        [("+12125550160", "landline"), ("+12125550161", "mobile"), ("+12125550162", "mobile")],
    )
    none = await _contact(db, "Lars Berg", [("+12125550163", "landline")])
    added = await targets.add_contacts(db, SYSTEM, cid, [many, team.carl.id, none, 999, many])
    assert (added.added, added.no_mobile, added.unknown) == (2, (none,), (999,))
    assert await _states(db, cid) == {"+12125550161": "waiting", CARL_MOBILE: "waiting"}
    again = await targets.add_contacts(db, SYSTEM, "spring", [many, team.dora.id])
    assert (again.added, again.already) == (1, 1)


async def test_adding_needs_manage_campaign_on_that_campaign_and_an_open_campaign(
    db: Database, team: Team
) -> None:
    cid = await _campaign(db)
    other = await _campaign(db, "Autumn")
    pat = await _person(db, "pat", cid)
    assert (await targets.add_contacts(db, pat, cid, [team.carl.id])).added == 1
    with pytest.raises(NotAllowed, match="not one of permission profile 'pat profile'"):
        await targets.add_contacts(db, pat, other, [team.carl.id])
    with pytest.raises(NotAllowed, match="does not have campaigns"):
        await targets.add_contacts(db, team.alice, cid, [team.dora.id])
    done = await _campaign(db, "Done", "finished")
    with pytest.raises(InvalidInput, match="'Done' is finished: its targets can no longer change"):
        await targets.add_contacts(db, SYSTEM, done, [team.carl.id])
    with pytest.raises(NotFound, match="no SMS campaign 'Nope'"):
        await targets.add_contacts(db, SYSTEM, "Nope", [team.carl.id])


# --- the live filter ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "at least one condition"),
        ("nme=smith", "filter part 'nme=smith': 'nme' is not something to filter on"),
        ("ready=maybe", "filter part 'ready=maybe': ready is true or false"),
        ("tag~vi", "tag is compared with ="),
        ("name=", "nothing to compare with"),
        ("custom.=x", "a custom field needs a name"),
        ('name="open', "quote that is never closed"),
        ("name=a\x1b[31m", "control character"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_part(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment.replace("(", r"\(")):
        filters.parse(text)


def test_a_filter_reads_back_as_written_and_through_json() -> None:
    flt = filters.parse("ready=TRUE tag=vip 'custom.Account manager=Bob Lee' name~smith email")
    assert flt.written() == "ready=true tag=vip 'custom.Account manager=Bob Lee' name~smith email"
    assert filters.from_json(flt.to_json()) == flt


async def _people(db: Database) -> dict[str, int]:
    ids = {
        "ada": await _contact(
            db, "Ada Smith", [("+12125550170", "mobile")], custom={"Region": "North"}
        ),
        "bo": await _contact(
            db, "Bo Smithers", [("+12125550171", "mobile")], custom={"Region": "South"}
        ),
        "cy": await _contact(db, "Cy Jones", [("+12125550172", "mobile")], ready=False),
        "di": await _contact(
            db, "Di 100% O'Brien", [("+12125550173", "landline")], custom={"Region": "North"}
        ),
    }
    await tags.tag(db, SYSTEM, ids["ada"], ["VIP"])
    await tags.tag(db, SYSTEM, ids["cy"], ["vip"])
    return ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name~smith", {"ada", "bo"}),
        ("name='ada smith'", {"ada"}),
        ("custom.region=north", {"ada", "di"}),
        ("custom.REGION~OUT", {"bo"}),
        ("custom.region", {"ada", "bo", "di"}),
        ("tag=vip", {"ada", "cy"}),
        ("tag=vip ready=true", {"ada"}),
        ("ready=false", {"cy"}),
        # Values that would break a query built from strings are only text here.
        ('"name=x\' OR 1=1 --"', set()),
        ("name~%", {"di"}),
        ("name~_", set()),
        ('"custom.Region\') OR 1=1 --=x"', set()),
    ],
)
async def test_the_filter_selects_by_fields_custom_fields_tags_and_ready(
    db: Database, text: str, expected: set[str]
) -> None:
    ids = await _people(db)
    where, params = filters.to_sql(filters.parse(text))
    rows = await db.fetchall(f"SELECT c.id FROM contacts c WHERE {where}", params)
    assert {name for name, i in ids.items() if i in {r[0] for r in rows}} == expected


async def test_the_filter_targets_matches_with_a_mobile_and_is_checked_again_when_due(
    db: Database,
) -> None:
    ids = await _people(db)
    cid = await _campaign(db)
    made = await targets.add_filter(db, SYSTEM, cid, "Custom.Region=north ready=true")
    assert (made.added, made.no_mobile, made.filter) == (1, 1, "custom.Region=north ready=true")
    stored = await db.scalar("SELECT filter FROM campaigns WHERE id = ?", (cid,))
    flt = filters.from_json(stored)
    # A contact who matches later is targeted when the campaign starts.
    await contacts.update(
        db,
        SYSTEM,
        ids["bo"],
        ContactDraft(name="Bo Smithers", phones=[("+12125550171", "mobile")],
                     custom={"Region": "north"}),
    )  # fmt: skip
    async with db.transaction() as tx:
        assert await targets.materialise_in(tx, cid) == 1
        assert await targets.materialise_in(tx, cid) == 0
    # Ready turned false meanwhile: the filter, checked again (as dispatch does when
    # targets are due), leaves the contact out.
    await contacts.set_ready(db, SYSTEM, ids["ada"], False, "called")
    where, params = filters.to_sql(flt)
    rows = await db.fetchall(f"SELECT c.id FROM contacts c WHERE {where}", params)
    assert {r[0] for r in rows} == {ids["bo"], ids["di"]}


# --- CSV ----------------------------------------------------------------------------


async def test_a_csv_keeps_good_rows_and_reports_bad_ones_by_row_and_column(
    db: Database, team: Team
) -> None:
    cid = await _campaign(db)
    await targets.add_contacts(db, SYSTEM, cid, [team.erin.id])
    data = (
        (
            "Phone,Account manager,Code\n"
            f"{DORA_MOBILE},Bob,A1\n"  # 2: Dora's mobile: Dora is the target
            "+12125550180,Cleo,B2\n"  # 3: a stranger
            "not a number,Dan,C3\n"  # 4
            f"{LANDLINE_GB},Eve,D4\n"  # 5: not a mobile range
            f"{CARL_LANDLINE},Fay,E5\n"  # 6: Carl's landline
            "+12125550180,Gus,F6\n"  # 7: as row 3
            f"{ERIN_MOBILE},Hal,G7\n"  # 8: Erin is a target already
            "+12125550181," + "x" * 2001 + ",H8\n"  # 9: too long
            "\n"
        ).encode()
        + b'+12125550182,Ines,\xff\xfe\n+12125550183,Jo,"multi\nline"\n+12125550184,Kim,K\n'
    )
    report = await targets_csv.import_csv(db, SYSTEM, cid, data)
    assert report.added == 3
    assert report.matched_contacts == 1
    assert [(e.row, e.column) for e in report.errors] == [
        (4, "Phone"),
        (5, "Phone"),
        (6, "Phone"),
        (7, "Phone"),
        (8, "Phone"),
        (9, "Account manager"),
        (11, "Code"),
        (12, "Code"),
    ]
    reasons = [e.reason for e in report.errors]
    assert "not a valid phone number" in reasons[0]
    assert "not a mobile number" in reasons[1]
    assert "landline number; SMS goes to mobiles only" in reasons[2]
    assert "already in row 3" in reasons[3]
    assert "already a target of this campaign" in reasons[4]
    assert "longer than 2000" in reasons[5]
    assert "not UTF-8" in reasons[6]
    rows = await db.fetchall(
        "SELECT phone, contact_id, merge_values FROM campaign_targets"
        " WHERE campaign_id = ? AND contact_id IS NOT ? ORDER BY id",
        (cid, team.erin.id),
    )
    assert [tuple(r) for r in rows] == [
        (DORA_MOBILE, team.dora.id, '{"account_manager": "Bob", "code": "A1"}'),
        ("+12125550180", None, '{"account_manager": "Cleo", "code": "B2"}'),
        ("+12125550184", None, '{"account_manager": "Kim", "code": "K"}'),
    ]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "the file is empty"),
        (b"name,code\nAda,1\n", "exactly one phone column"),
        (b"phone,mobile\n", "exactly one phone column"),
        (b"phone,Code,code\n", "the same merge field {{code}}"),
        (b"phone,!!!\n", "has no name a merge field can take"),
        (b'phone,name\n+12125550180,"Ada\n', "cannot be read as CSV at row 2"),
    ],
)
async def test_a_csv_that_cannot_be_read_is_refused_whole(
    db: Database, data: bytes, fragment: str
) -> None:
    cid = await _campaign(db)
    with pytest.raises(InvalidInput, match=fragment.replace("{", r"\{").replace("}", r"\}")):
        await targets_csv.import_csv(db, SYSTEM, cid, data)
    assert await db.scalar("SELECT count(*) FROM campaign_targets") == 0


async def test_a_campaign_made_with_its_csv_may_use_the_columns_at_once(
    db: Database, team: Team
) -> None:
    data = f"Phone,Order\n{DORA_MOBILE},#12\nnot a number,#13\n+12125550180,#14\n".encode()
    made, report = await targets_csv.create_with_csv(
        db, team.dana, "Orders", DEFAULT_NUMBER, "Order {{order}} is ready", data, rate=2.0
    )
    assert (made.template, made.rate) == ("Order {{order}} is ready", 2.0)
    assert (report.added, report.matched_contacts) == (2, 1)
    assert [(e.row, e.column) for e in report.errors] == [(3, "Phone")]
    rows = await db.fetchall(
        "SELECT phone, merge_values FROM campaign_targets WHERE campaign_id = ? ORDER BY id",
        (made.id,),
    )
    assert [tuple(r) for r in rows] == [
        (DORA_MOBILE, '{"order": "#12"}'),
        ("+12125550180", '{"order": "#14"}'),
    ]
    # A text the file's columns do not make good leaves neither a draft nor targets.
    with pytest.raises(InvalidInput, match=r"unknown field 'ordr' \(did you mean order\?\)"):
        await targets_csv.create_with_csv(
            db, team.dana, "Typo", DEFAULT_NUMBER, "Order {{ordr}}", data
        )
    assert await db.scalar("SELECT count(*) FROM campaigns") == 1
    assert await db.scalar("SELECT count(*) FROM campaign_targets") == 2
    with pytest.raises(NotAllowed):  # checked before the file is read
        await targets_csv.create_with_csv(db, team.alice, "Mine", DEFAULT_NUMBER, "Hi", b"")


# --- the pool and moves -------------------------------------------------------------


async def _three_targets(db: Database, team: Team) -> tuple[int, list[int]]:
    cid = await _campaign(db)
    await targets.add_contacts(db, SYSTEM, cid, [team.carl.id, team.dora.id, team.erin.id])
    rows = await db.fetchall("SELECT id FROM campaign_targets ORDER BY id")
    return cid, [r[0] for r in rows]


async def test_every_move_needs_its_right_and_is_recorded(
    db: Database, team: Team, clock: FakeClock
) -> None:
    cid, (t1, t2, t3) = await _three_targets(db, team)
    everything = await _person(
        db,
        "ria",
        cid,
        campaign_pool=True,
        campaign_program=True,
        campaign_reprogram=True,
        campaign_remove=True,
    )
    only_access = await _person(db, "sam", cid)
    soon = clock.now() + timedelta(hours=1)
    later = clock.now() + timedelta(hours=2)

    for call, right in [
        (pool.pool(db, only_access, cid), "campaign_pool"),
        (pool.program(db, only_access, cid, [t1], soon), "campaign_program"),
        (pool.reprogram(db, only_access, cid, [t1], soon), "campaign_reprogram"),
        (pool.back_to_pool(db, only_access, cid, [t1]), "campaign_reprogram"),
        (pool.remove(db, only_access, cid, [t1]), "campaign_remove"),
    ]:
        with pytest.raises(NotAllowed, match=f"does not have {right}"):
            await call
    assert await db.scalar("SELECT count(*) FROM campaign_moves") == 0

    assert [t.id for t in await pool.pool(db, everything, cid)] == [t1, t2, t3]
    assert (await pool.program(db, everything, cid, [t1, t2], soon)).moved == 2
    assert (await pool.reprogram(db, everything, cid, [t2], later)).moved == 1
    assert (await pool.back_to_pool(db, everything, cid, [t1])).moved == 1
    assert (await pool.remove(db, everything, cid, [t3])).moved == 1
    assert (await pool.program(db, everything, cid, "all", soon)).moved == 1  # t1 again

    listed = {t.id: (t.state, t.due_at) for t in await pool.targets(db, only_access, cid)}
    assert listed == {t1: ("programmed", soon), t2: ("programmed", later), t3: ("removed", None)}
    history = [
        (m.target_id, m.action, m.due_at, m.agent) for m in await pool.moves(db, only_access, cid)
    ]
    assert history == [
        (t1, "program", soon, "Ria"),
        (t2, "program", soon, "Ria"),
        (t2, "reprogram", later, "Ria"),
        (t1, "pool", None, "Ria"),
        (t3, "remove", None, "Ria"),
        (t1, "program", soon, "Ria"),
    ]
    assert await pool.counts(db, only_access, cid) == {
        "waiting": 0, "programmed": 2, "queued": 0, "skipped": 0, "removed": 1,
    }  # fmt: skip


async def test_the_pool_pages_by_id_over_waiting_and_programmed_targets(
    db: Database, team: Team, clock: FakeClock
) -> None:
    cid, (t1, t2, t3) = await _three_targets(db, team)
    only_access = await _person(db, "sam", cid)
    with pytest.raises(NotAllowed, match="does not have campaign_pool"):
        await pool.movable(db, only_access, cid)
    await pool.program(db, SYSTEM, cid, [t2], clock.now() + timedelta(hours=1))
    await pool.remove(db, SYSTEM, cid, [t3])
    first = await pool.movable(db, SYSTEM, cid, limit=1)
    assert [(t.id, t.state) for t in first] == [(t1, "waiting")]
    rest = await pool.movable(db, SYSTEM, cid, after_id=first[-1].id, limit=2)
    assert [(t.id, t.state) for t in rest] == [(t2, "programmed")]  # removed ones not listed
    assert [t.id for t in await pool.pool(db, SYSTEM, cid, after_id=t1)] == []
    paged = await progress.results(db, SYSTEM, cid, after_id=t1, limit=1)
    assert [r.target_id for r in paged] == [t2]


async def test_a_move_in_the_past_or_of_targets_in_another_state_moves_nothing(
    db: Database, team: Team, clock: FakeClock
) -> None:
    cid, (t1, t2, t3) = await _three_targets(db, team)
    with pytest.raises(InvalidInput, match="is in the past"):
        await pool.program(db, SYSTEM, cid, [t1], clock.now() - timedelta(minutes=1))
    await pool.remove(db, SYSTEM, cid, [t3])
    with pytest.raises(InvalidInput, match=rf"not to {t3} \(removed\); nothing was moved"):
        await pool.program(db, SYSTEM, cid, [t1, t2, t3], clock.now())
    with pytest.raises(InvalidInput, match=rf"programmed targets only, not to {t1} \(waiting\)"):
        await pool.reprogram(db, SYSTEM, cid, [t1], clock.now())
    with pytest.raises(NotFound, match="no target 999 in this campaign"):
        await pool.remove(db, SYSTEM, cid, [t1, 999])
    assert await _states(db, cid) == {
        CARL_MOBILE: "waiting", DORA_MOBILE: "waiting", ERIN_MOBILE: "removed",
    }  # fmt: skip
    assert await db.scalar("SELECT count(*) FROM campaign_moves") == 1


async def test_the_results_view_shows_a_queued_targets_message(db: Database, team: Team) -> None:
    cid, (t1, _, _) = await _three_targets(db, team)
    await sending.send(db, SYSTEM, CARL_MOBILE, "Hi Carl", sender="+14155550100")
    async with db.transaction() as tx:
        mid = await tx.scalar("SELECT max(id) FROM messages")
        await tx.execute(
            "UPDATE messages SET status = 'failed', error = 'unreachable' WHERE id = ?", (mid,)
        )
        await tx.execute(
            "UPDATE campaign_targets SET state = 'queued', message_id = ? WHERE id = ?", (mid, t1)
        )
    [queued] = await pool.targets(db, SYSTEM, cid, "queued")
    assert (queued.contact_name, queued.message_status, queued.error) == (
        "Carl Mensah",
        "failed",
        "unreachable",
    )
    with pytest.raises(InvalidInput, match="'sent' is not a target state"):
        await pool.targets(db, SYSTEM, cid, "sent")
