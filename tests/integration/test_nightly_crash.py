"""Crash injection at every step of a run: the process dies at a step boundary (an exception at
the named checkpoint, the message left on the queue), then the night is run again (the schedule
fires again and SQS redelivers). The run completes with no second charge, invoice or email."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    charges,
    drain,
    fire,
    install_queue,
    local,
    service,
    session_on,
    subjects,
)

DAY = "2026-11-20"
STEPS = [
    "planned-items",
    "planned",
    "sent-batch",
    "claimed",
    "invoiced",
    "pointer",
    "charged",
    "billed",
    "item-billed",
    "item-done",
    "reporting",
    "report-stored",
    "report-emailed",
]


class Crash(RuntimeError):
    pass


@pytest.fixture
def night(world: World) -> Iterator[dict[str, Any]]:
    """A (card: charged), B (no card: invoice sent), E (a no-show fee left open: invoice sent)."""
    install_queue(world)
    practice = scenario.create_practice(world)
    status, _ = world.staff(
        "PUT",
        "/practice/cancellation-policy",
        {"no_show_fee": {"kind": "flat", "amount": {"amount": 5_000, "currency": "usd"}}},
        practice_id=practice.id,
    )
    assert status == 200
    svc = service(world, practice)
    a = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, a["id"])
    b = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    e = scenario.create_client(world, practice, first_name="Eve", email="eve@client.test")
    sessions = {
        "a": session_on(world, practice, a["id"], svc, local(DAY, 9)),
        "b": session_on(world, practice, b["id"], svc, local(DAY, 10)),
        "e": session_on(world, practice, e["id"], svc, local(DAY, 13), outcome="no_show"),
    }
    yield {"practice": practice, "sessions": sessions}
    world.container.nightly.checkpoint = lambda step: None


def crash_at(world: World, step: str, nth: int) -> list[str]:
    seen: list[str] = []

    def checkpoint(name: str) -> None:
        seen.append(name)
        if name == step and seen.count(name) == nth:
            raise Crash(f"crash at {step} #{nth}")

    world.container.nightly.checkpoint = checkpoint
    return seen


def _invoices_of(world: World, practice_id: str, client_id: str) -> list[dict[str, Any]]:
    status, page = world.staff("GET", "/invoices", practice_id=practice_id, query={"client_id": client_id})
    assert status == 200, page
    return list(page["items"])


def _assert_billed_once(world: World, night: dict[str, Any], before: int) -> None:
    p, s = night["practice"], night["sessions"]
    status, run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)
    assert status == 200, run
    assert run["status"] == "done" and run["planned"] == run["finished"] == 3, run
    outcomes = {i["session_id"]: i["outcome"] for i in run["items"]}
    assert outcomes == {s["a"]["id"]: "charged", s["b"]["id"]: "sent", s["e"]["id"]: "sent"}
    assert charges(world) == before + 1
    for key in ("a", "b", "e"):
        invoices = _invoices_of(world, p.id, s[key]["client_id"])
        assert len(invoices) == 1, (key, invoices)
    statuses = {k: _invoices_of(world, p.id, s[k]["client_id"])[0]["status"] for k in ("a", "b", "e")}
    assert statuses == {"a": "paid", "b": "open", "e": "open"}
    assert len(subjects(world, "Billing run")) == 1
    invoice_mails = [x for x in subjects(world) if "nvoice" in x and "Billing run" not in x]
    assert len(invoice_mails) == 2, invoice_mails
    assert run["report"]["items_billed"] == 3 and run["report"]["cards_charged"] == 1


# Per-item steps are crashed at the first item and again at the second (another path: charged
# vs. sent); the once-per-run steps at their one occurrence.
PER_ITEM = ("claimed", "invoiced", "billed", "item-billed", "item-done")
CASES = [(step, 1) for step in STEPS] + [(step, 2) for step in PER_ITEM]


@pytest.mark.parametrize(("step", "nth"), CASES)
def test_a_crash_at_any_step_then_a_rerun_bills_once(
    world: World, night: dict[str, Any], step: str, nth: int
) -> None:
    p = night["practice"]
    before = charges(world)
    seen = crash_at(world, step, nth)
    fire(world, p.id, local(DAY, 23))
    drain(world)
    assert seen.count(step) >= nth, seen  # the crash happened
    status, run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)
    assert status == 200 and run["status"] != "done", run  # the crash left it unfinished
    # The night is run again: the schedule fires again (or staff press "run now"), SQS
    # redelivers the message that failed.
    world.container.nightly.checkpoint = lambda name: None
    fire(world, p.id, local(DAY, 23) + timedelta(minutes=10))
    drain(world)
    _assert_billed_once(world, night, before)
    # And once more changes nothing.
    fire(world, p.id, local(DAY, 23) + timedelta(minutes=20))
    drain(world)
    _assert_billed_once(world, night, before)


def test_crash_twice_in_a_row_then_complete(world: World, night: dict[str, Any]) -> None:
    p = night["practice"]
    before = charges(world)
    crash_at(world, "charged", 1)
    fire(world, p.id, local(DAY, 23))
    drain(world)
    crash_at(world, "report-stored", 1)
    fire(world, p.id, local(DAY, 23, minute=5))
    drain(world)
    world.container.nightly.checkpoint = lambda name: None
    drain(world)  # a redrive of what was left alone completes it
    _assert_billed_once(world, night, before)


def test_stripe_answer_lost_then_rerun_meets_the_same_charge(world: World, night: dict[str, Any]) -> None:
    """Stripe made the charge but the answer was lost: the item stays pending (the payment is
    pending); the reconciler finishes it with the same idempotency key and the invoice is paid."""
    p, s = night["practice"], night["sessions"]
    before = charges(world)
    world.stripe.fail_next(1, "timeout_after_commit", path="/v1/payment_intents")
    fire(world, p.id, local(DAY, 23))
    drain(world)
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[1]
    outcomes = {i["session_id"]: i["outcome"] for i in run["items"]}
    assert outcomes[s["a"]["id"]] == "pending" and run["status"] == "done"
    assert run["report"]["pending"] == 1
    # The reconciler (every 15 minutes) finishes the pending payment with the same key.
    from devstack import apigw

    world.clock.now = local(DAY, 23, minute=20)
    world.handler("payments_reconciler")(
        apigw.scheduled_event("payments-reconciler"), apigw.LambdaContext("r")
    )
    assert charges(world) == before + 1
    world.deliver_stripe_events(since=0)
    invoices = _invoices_of(world, p.id, s["a"]["client_id"])
    assert [i["status"] for i in invoices] == ["paid"]
    # Re-running the night does not charge again.
    fire(world, p.id, local(DAY, 23, minute=30))
    drain(world)
    assert charges(world) == before + 1
