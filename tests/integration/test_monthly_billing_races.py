"""Monthly consolidations meeting other billers of the same sessions: staff invoicing one session
while the month is consolidated, a billing at completion left half done before the client moved to
monthly, and a nightly item of a run from before a switch of cadence. Each session ends billed once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    drain,
    fire,
    install_queue,
    local,
    purge,
    run_of,
    service,
    session_on,
)
from therabill.invoices.charges import ChargeSelection
from therabill.nightly.billing import COMPLETION_RUN
from therabill.nightly.facts import ChargeCheck
from therabill.sessions.store import SessionStore

PRICE = 12_000


def _cadence(world: World, practice_id: str, client_id: str, cadence: str) -> None:
    body = {"cadence": cadence}
    assert (
        world.staff("PUT", f"/clients/{client_id}/billing-cadence", body, practice_id=practice_id)[0] == 200
    )


def _lines(world: World, practice_id: str, client_id: str) -> list[tuple[str, str]]:
    _, page = world.staff("GET", "/invoices", practice_id=practice_id, query={"client_id": client_id})
    return sorted((line["session_id"], i["kind"]) for i in page["items"] for line in i["lines"])


def _client(world: World) -> tuple[Any, str, dict[str, Any]]:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice, PRICE)
    bea = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    return practice, svc, bea


def test_staff_invoicing_one_session_while_the_month_is_consolidated_bills_the_rest(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    practice, svc, bea = _client(world)
    _cadence(world, practice.id, bea["id"], "monthly")
    s1, s2, s3 = (
        session_on(world, practice, bea["id"], svc, local(d, 9))["id"]
        for d in ("2026-11-05", "2026-11-12", "2026-11-19")
    )
    real = ChargeSelection.lines_for
    raced: list[int] = []

    def racing(self: ChargeSelection, *args: Any, **kw: Any) -> Any:
        out = real(self, *args, **kw)
        if kw.get("kind") == "monthly" and not raced:  # staff invoice s1 by hand at this moment
            raced.append(1)
            body = {"client_id": bea["id"], "kind": "session", "session_id": s1}
            headers = {"Idempotency-Key": "by-hand-1"}
            assert world.staff("POST", "/invoices", body, practice_id=practice.id, headers=headers)[0] == 201
        return out

    monkeypatch.setattr(ChargeSelection, "lines_for", racing)
    fire(world, practice.id, local("2026-12-01", 23))
    drain(world)
    assert raced
    run = run_of(world, practice.id, "2026-12-01")
    assert run["status"] == "done" and run["report"]["amount_billed"] == 2 * PRICE, run
    assert _lines(world, practice.id, bea["id"]) == sorted(
        [(s1, "session"), (s2, "monthly"), (s3, "monthly")]
    )


def test_a_session_left_half_billed_at_completion_is_finished_by_the_monthly_consolidation(
    world: World,
) -> None:
    practice, svc, bea = _client(world)
    _cadence(world, practice.id, bea["id"], "at_completion")
    s = session_on(world, practice, bea["id"], svc, local("2026-11-20", 9))["id"]
    # Its billing at completion claimed it and crashed (the scheduler's retries gave up).
    world.container.sessions.store.claim_billing(
        practice.id, bea["id"], s, run_id=COMPLETION_RUN, action="send"
    )
    world.clock.now = local("2026-11-21", 8)
    _cadence(world, practice.id, bea["id"], "monthly")
    other = session_on(world, practice, bea["id"], svc, local("2026-11-24", 9))["id"]
    for day in ("2026-11-21", "2026-12-01", "2026-12-02"):
        fire(world, practice.id, local(day, 23))
        drain(world)
    assert _lines(world, practice.id, bea["id"]) == sorted([(s, "session"), (other, "monthly")])
    item = run_of(world, practice.id, "2026-12-01")["items"][0]
    assert sorted(item["sessions"]) == sorted([s, other]) and len(item["invoice_ids"]) == 2
    world.clock.now = local("2026-12-03", 20)
    assert world.staff("GET", "/nightly/tonight", practice_id=practice.id)[1]["ready"] == []


def test_a_nightly_item_leaves_a_session_its_consolidation_claimed_first(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bea's run of 30 November (she was nightly that day) planned her session and stopped; she is
    monthly again and the consolidation of 1 December claims it just before the old item bills."""
    practice, svc, bea = _client(world)
    s = session_on(world, practice, bea["id"], svc, local("2026-11-30", 9))["id"]
    fire(world, practice.id, local("2026-11-30", 23))
    purge(world)  # planned, its items never delivered
    world.container.nightly.plan(practice.id, date(2026, 11, 30))
    purge(world)
    world.clock.now = local("2026-12-01", 12)
    _cadence(world, practice.id, bea["id"], "monthly")
    fire(world, practice.id, local("2026-12-01", 23))
    world.container.nightly.plan(practice.id, date(2026, 12, 1))
    purge(world)
    (group,) = run_of(world, practice.id, "2026-12-01")["items"]
    tag = f"run:{practice.id}:2026-12-01#{group['session_id']}"
    real = SessionStore.claim_billing

    def racing(self: SessionStore, practice_id: str, client_id: str, session_id: str, **kw: Any) -> Any:
        if session_id == s and "#" not in kw["run_id"]:  # the consolidation gets there first
            real(self, practice_id, client_id, session_id, run_id=tag, action="send")
        return real(self, practice_id, client_id, session_id, **kw)

    monkeypatch.setattr(SessionStore, "claim_billing", racing)
    world.container.nightly.process(practice.id, date(2026, 11, 30), [(s, bea["id"])])
    monkeypatch.setattr(SessionStore, "claim_billing", real)
    (old,) = run_of(world, practice.id, "2026-11-30")["items"]
    assert (old["outcome"], old["invoice_ids"]) == ("nothing_to_bill", [])
    world.container.nightly.process(practice.id, date(2026, 12, 1), [(group["session_id"], bea["id"])])
    assert _lines(world, practice.id, bea["id"]) == [(s, "monthly")]


@pytest.mark.parametrize("kinds", [["session_fee"], ["session_fee", "balance"]])
def test_a_month_with_a_fee_the_consent_leaves_out_is_sent_and_the_listing_says_so(
    world: World, kinds: list[str]
) -> None:
    """A session and a no-show fee: the consent covers session fees (and, second, balances) but
    not cancellation fees, so the month's one invoice is sent, never charged."""
    practice, svc, ada = _client(world)
    _cadence(world, practice.id, ada["id"], "monthly")
    fee = {"no_show_fee": {"kind": "flat", "amount": {"amount": 5_000, "currency": "usd"}}}
    assert world.staff("PUT", "/practice/cancellation-policy", fee, practice_id=practice.id)[0] == 200
    scenario.save_card(world, practice, ada["id"], kinds=kinds)
    session_on(world, practice, ada["id"], svc, local("2026-11-05", 9))
    session_on(world, practice, ada["id"], svc, local("2026-11-12", 9), outcome="no_show")
    world.clock.now = local("2026-12-01", 20)
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert {i["will"] for i in listing["ready"]} == {"consolidated tonight, sent"}
    assert (listing["totals"]["to_charge"], listing["totals"]["to_send"]) == (0, 2)
    before = len(world.stripe.events_of_type("payment_intent.succeeded"))
    fire(world, practice.id, local("2026-12-01", 23))
    drain(world)
    (item,) = run_of(world, practice.id, "2026-12-01")["items"]
    assert (item["outcome"], item["charged"], item["billed"]) == ("sent", 0, PRICE + 5_000), item
    assert len(world.stripe.events_of_type("payment_intent.succeeded")) == before


def test_the_charge_checks_each_kind_again_when_the_consent_changed_since_the_plan(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run planned to charge (the consent allowed it then); by the time it bills, the consent
    leaves out cancellation fees: the month's invoice is sent, with the reason, and Stripe is not asked."""
    practice, svc, ada = _client(world)
    _cadence(world, practice.id, ada["id"], "monthly")
    fee = {"no_show_fee": {"kind": "flat", "amount": {"amount": 5_000, "currency": "usd"}}}
    assert world.staff("PUT", "/practice/cancellation-policy", fee, practice_id=practice.id)[0] == 200
    scenario.save_card(world, practice, ada["id"], kinds=["session_fee", "balance"])
    session_on(world, practice, ada["id"], svc, local("2026-11-05", 9))
    session_on(world, practice, ada["id"], svc, local("2026-11-12", 9), outcome="no_show")
    intents = len([r for r in world.stripe.requests if r.path == "/v1/payment_intents"])
    monkeypatch.setattr(ChargeCheck, "allows", lambda *args, **kw: True)  # as the plan saw it

    def after_the_plan(step: str) -> None:
        if step == "planned":
            monkeypatch.undo()

    world.container.nightly.checkpoint = after_the_plan
    fire(world, practice.id, local("2026-12-01", 23))
    drain(world)
    world.container.nightly.checkpoint = lambda step: None
    (item,) = run_of(world, practice.id, "2026-12-01")["items"]
    assert item["action"] == "charge"  # the plan's
    assert (item["outcome"], item["charged"], item["payment_ids"]) == ("sent", 0, []), item
    assert item["problem"] == "the card's consent does not cover cancellation fees"
    assert len([r for r in world.stripe.requests if r.path == "/v1/payment_intents"]) == intents
