"""S1: campaign rows that share a template, not a body, go as one provider batch with
per-recipient parameters; their reports still settle each row."""

from __future__ import annotations

import json

import pytest

from core import settings
from core.db import Database
from core.delivery import batching, outbox, placeholders
from core.delivery.gateway import OutboundBatch, OutboundSms
from core.scheduling.worker import Worker
from providers.sandbox import UNREACHABLE_SUFFIX
from tests.core.conftest import DEFAULT_NUMBER, Team

TEMPLATE = "Hi ${first_name}, your table is at ${time}."
PEOPLE = [
    ("+14155550001", "Ana", "19:00"),
    ("+14155550002", "Bo", "19:30"),
    ("+14155550003", "Chidi", "20:00"),
]


def _sms(message_id: int, recipient: str, values: dict[str, str], **changes: object) -> OutboundSms:
    fields: dict[str, object] = {
        "template": TEMPLATE,
        "values": tuple(sorted(values.items())),
        "body": placeholders.substitute(TEMPLATE, values),
    }
    fields.update(changes)
    return OutboundSms(message_id, DEFAULT_NUMBER, recipient, segments=1, **fields)  # type: ignore[arg-type]


def _values(name: str, time: str) -> dict[str, str]:
    return {"first_name": name, "time": time}


def test_rows_with_different_bodies_and_one_template_make_one_batch_with_parameters() -> None:
    rows = [_sms(i, to, _values(n, t)) for i, (to, n, t) in enumerate(PEOPLE, start=1)]
    (batch,) = batching.plan(rows, 1000)

    assert isinstance(batch, OutboundBatch)
    assert batch.body == TEMPLATE
    assert batch.reference == "batch-1"
    assert batch.parameters == {
        "first_name": {to: n for to, n, _ in PEOPLE},
        "time": {to: t for to, _, t in PEOPLE},
    }
    # Each recipient's text is exactly the row's body.
    assert [batch.text_for(to) for to in batch.recipients] == [r.body for r in rows]


def test_a_value_the_template_does_not_show_is_not_sent() -> None:
    rows = [
        _sms(i, to, {**_values(n, t), "email": f"{n}@example.com"})
        for i, (to, n, t) in enumerate(PEOPLE, start=1)
    ]
    (batch,) = batching.plan(rows, 1000)
    assert isinstance(batch, OutboundBatch)
    assert set(batch.parameters) == {"first_name", "time"}


@pytest.mark.parametrize(
    "name",
    [
        "${time}",  # would be a placeholder to a provider that substitutes again
        "x${",
        "${first_name}",
    ],
)
def test_a_value_holding_a_placeholder_opener_goes_alone_as_its_rendered_body(name: str) -> None:
    rows = [_sms(i, to, _values(n, t)) for i, (to, n, t) in enumerate(PEOPLE, start=1)]
    hostile = _sms(4, "+14155550004", _values(name, "21:00"))
    planned = batching.plan([*rows, hostile], 1000)

    assert len(planned) == 2
    batch, alone = planned
    assert isinstance(batch, OutboundBatch)
    assert batch.message_ids == (1, 2, 3)
    assert alone == hostile  # sent as one message: its body, no parameters
    assert alone.body == f"Hi {name}, your table is at 21:00."


def test_a_template_whose_text_is_not_the_body_is_planned_by_its_body() -> None:
    good = _sms(1, PEOPLE[0][0], _values("Ana", "19:00"))
    # The opt-out line was added to the body and not to the template: by body.
    stale = _sms(2, PEOPLE[1][0], _values("Bo", "19:30"), body="Hi Bo, your table is at 19:30.\nx")
    # A literal "${" in the template itself (not one of its placeholders).
    literal = _sms(
        3,
        PEOPLE[2][0],
        {},
        template="Costs ${ 5",
        body="Costs ${ 5",
    )
    planned = batching.plan([good, stale, literal], 1000)
    assert planned == [good, stale, literal]


def test_rows_with_and_without_a_template_never_share_a_batch() -> None:
    with_template = _sms(1, PEOPLE[0][0], {}, template="Open today", body="Open today")
    plain = _sms(2, PEOPLE[1][0], {}, template="", body="Open today")
    plain_too = _sms(3, PEOPLE[2][0], {}, template="", body="Open today")
    planned = batching.plan([with_template, plain, plain_too], 1000)
    assert planned[0] == with_template
    assert isinstance(planned[1], OutboundBatch)
    assert planned[1].message_ids == (2, 3)


def test_parameter_batches_keep_to_the_recipient_limit() -> None:
    rows = [_sms(i, f"+1415555{i:04d}", _values(f"N{i}", "19:00")) for i in range(1, 2501)]
    planned = batching.plan(rows, 1000)
    assert [len(b.rows) for b in planned if isinstance(b, OutboundBatch)] == [1000, 1000, 500]


# --- through the outbox and the sandbox -----------------------------------------


async def _campaign(db: Database, status: str = "running", rate: float = 1000.0) -> int:
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO campaigns (name, sender, template, status, rate_segments_per_second,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (f"c{tx.now_ms}-{status}-{rate}", DEFAULT_NUMBER, "t", status, rate, tx.now_ms,
             tx.now_ms),
        )  # fmt: skip


async def _queue(
    db: Database, campaign_id: int, people: list[tuple[str, str, str]]
) -> list[int | Exception]:
    values = [_values(n, t) for _, n, t in people]
    items = [
        (to, placeholders.substitute(TEMPLATE, v))
        for (to, _, _), v in zip(people, values, strict=True)
    ]
    async with db.transaction() as tx:
        return list(
            await outbox.queue_many(
                tx,
                outbox.CAMPAIGN,
                DEFAULT_NUMBER,
                items,
                campaign_id=campaign_id,
                batch=(TEMPLATE, values),
            )
        )


@pytest.fixture
async def fast(db: Database, team: Team) -> None:
    await settings.update(db, team.dana, sandbox_delivery_seconds=0, rate_segments_per_second=1000)


async def test_queue_many_writes_the_campaign_and_batch_columns_with_the_optout_line(
    db: Database, fast: None
) -> None:
    campaign = await _campaign(db)
    ids = await _queue(db, campaign, PEOPLE)

    rows = await db.fetchall(
        "SELECT id, body, campaign_id, batch_template, batch_values FROM messages ORDER BY id"
    )
    assert [r["id"] for r in rows] == ids
    line = (await settings.load(db)).optout_notice
    for r, (_, name, time) in zip(rows, PEOPLE, strict=True):
        assert r["campaign_id"] == campaign
        # First SMS to each number: the opt-out line is on the body and the template.
        assert r["batch_template"] == f"{TEMPLATE}\n{line}"
        assert json.loads(r["batch_values"]) == _values(name, time)
        assert placeholders.fills_to(r["batch_template"], _values(name, time), r["body"])


async def test_queue_many_refuses_values_that_do_not_match_the_items(
    db: Database, fast: None
) -> None:
    campaign = await _campaign(db)
    async with db.transaction() as tx:
        with pytest.raises(ValueError, match="2 sets of values for 1 messages"):
            await outbox.queue_many(
                tx,
                outbox.CAMPAIGN,
                DEFAULT_NUMBER,
                [(PEOPLE[0][0], "x")],
                campaign_id=campaign,
                batch=(TEMPLATE, [{}, {}]),
            )


async def test_one_sandbox_batch_gives_each_phone_its_text_and_each_report_settles_its_row(
    db: Database, fast: None, worker: Worker
) -> None:
    campaign = await _campaign(db)
    unreachable = ("+1415555" + UNREACHABLE_SUFFIX, "Dee", "21:00")
    hostile = ("+14155550005", "${time}", "22:00")
    ids = await _queue(db, campaign, [*PEOPLE, unreachable, hostile])
    await worker.run_once()

    rows = await db.fetchall(
        "SELECT id, recipient, body, status, provider_id FROM messages ORDER BY id"
    )
    by_to = {r["recipient"]: r for r in rows}
    batched = {by_to[to]["provider_id"] for to, _, _ in [*PEOPLE, unreachable]}
    assert batched == {f"sandbox-batch-{ids[0]}"}  # one call for four different texts
    assert by_to[hostile[0]]["provider_id"] == f"sandbox-{ids[-1]}"  # alone
    phone = {
        r["recipient"]: r["body"]
        for r in await db.fetchall("SELECT recipient, body FROM sandbox_messages")
    }
    assert phone == {r["recipient"]: r["body"] for r in rows}  # what each phone got
    assert {r["recipient"]: r["status"] for r in rows} == {
        **{to: "delivered" for to, _, _ in [*PEOPLE, hostile]},
        unreachable[0]: "failed",
    }


def test_a_dollar_just_before_a_placeholder_is_planned_by_its_body() -> None:
    # "$" then a value starting "{x}" would read "${x}" to a provider that substitutes again.
    rows = [
        _sms(i, to, {"name": "{x}"}, template="Pay $${name}", body="Pay ${x}")
        for i, to in enumerate(["+14155550001", "+14155550002"], start=1)
    ]
    planned = batching.plan(rows, 1000)
    assert isinstance(planned[0], OutboundBatch)
    assert planned[0].body == "Pay ${x}"  # by body: one text for both, no parameters
    assert planned[0].parameters == {}
