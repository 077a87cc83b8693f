"""Monthly billing through the real entry points (the schedule's firings of nightly-dispatch, the
SQS fan-out, the staff API): one invoice per billing party for the sessions served before the
billing day, at that day's cutoff in the practice's time zone, charged by AutoPay or sent; the
month the clocks change, a billing day of 31, crashes in the consolidation, and switching the
cadence or auto-billing in the middle of a month."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_crash import Crash
from tests.integration.test_nightly_support import (
    charges,
    drain,
    fire,
    install_queue,
    local,
    mails,
    run_of,
    service,
    session_on,
)
from tests.integration.test_split_billing import contact, put_rules

PRICE = 12_000


def _automation(world: World, practice_id: str, body: dict[str, Any]) -> dict[str, Any]:
    status, out = world.staff("PUT", "/practice/billing-automation", body, practice_id=practice_id)
    assert status == 200, out
    return dict(out)


def _tonight(world: World, practice_id: str, day: str) -> dict[str, Any]:
    world.clock.now = local(day, 20)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice_id)
    assert status == 200, listing
    return dict(listing)


def _night(world: World, practice_id: str, day: str) -> dict[str, Any]:
    """The schedule fires at the cutoff (23:00 local), the worker drains the queue: the run."""
    fire(world, practice_id, local(day, 23))
    drain(world)
    return run_of(world, practice_id, day)


def _invoices(world: World, practice_id: str, client_id: str) -> list[dict[str, Any]]:
    status, page = world.staff("GET", "/invoices", practice_id=practice_id, query={"client_id": client_id})
    assert status == 200, page
    return sorted(page["items"], key=lambda i: i["number"])


@pytest.fixture
def month(world: World) -> Iterator[dict[str, Any]]:
    """A practice in New York billing monthly on the 1st: Ada (card, AutoPay) has four November
    sessions (the clocks go back on 1 November), Bea (no card) two, and Ada one on 1 December."""
    install_queue(world)
    practice = scenario.create_practice(world)
    settings = _automation(world, practice.id, {"billing_cadence": "monthly", "monthly_billing_day": 1})
    assert (settings["billing_cadence"], settings["monthly_billing_day"]) == ("monthly", 1)
    svc = service(world, practice, PRICE)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    bea = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    days = {
        "ada": ["2026-11-02", "2026-11-09", "2026-11-20", "2026-11-30"],
        "bea": ["2026-11-05", "2026-11-25"],
    }
    who = {"ada": ada, "bea": bea}
    ids = {
        name: [session_on(world, practice, who[name]["id"], svc, local(d, 9))["id"] for d in ds]
        for name, ds in days.items()
    }
    ids["ada_dec"] = [session_on(world, practice, ada["id"], svc, local("2026-12-01", 8))["id"]]
    yield {"practice": practice, "ada": ada, "bea": bea, "ids": ids}
    world.container.nightly.checkpoint = lambda step: None


def _assert_december_billed_once(world: World, m: dict[str, Any], before: int) -> None:
    p, ada, bea, ids = m["practice"], m["ada"], m["bea"], m["ids"]
    run = run_of(world, p.id, "2026-12-01")
    assert run["status"] == "done", run
    by_client = {i["client_id"]: i for i in run["items"]}
    assert set(by_client) == {ada["id"], bea["id"]}
    assert by_client[ada["id"]]["sessions"] == ids["ada"] and by_client[bea["id"]]["sessions"] == ids["bea"]
    assert (by_client[ada["id"]]["outcome"], by_client[bea["id"]]["outcome"]) == ("charged", "sent")
    report = run["report"]
    assert (report["items_billed"], report["amount_billed"], report["invoices_consolidated"]) == (
        6,
        6 * PRICE,
        2,
    )
    assert (report["cards_charged"], report["amount_charged"], report["later"]) == (1, 4 * PRICE, 1)
    assert charges(world) == before + 1  # one charge for Ada's month, not four
    ada_inv, bea_inv = _invoices(world, p.id, ada["id"]), _invoices(world, p.id, bea["id"])
    assert [(i["kind"], i["status"], i["total"], len(i["lines"])) for i in ada_inv] == [
        ("monthly", "paid", 4 * PRICE, 4)
    ]
    assert [(i["kind"], i["status"], i["total"], len(i["lines"])) for i in bea_inv] == [
        ("monthly", "open", 2 * PRICE, 2)
    ]
    assert (bea_inv[0]["period_start"], bea_inv[0]["period_end"]) == ("2026-11-05", "2026-11-25")
    # One email each: Ada her receipt, Bea her invoice to pay.
    to_ada = [s for to, s, _ in mails(world) if to == "ada@client.test"]
    to_bea = [s for to, s, _ in mails(world) if to == "bea@client.test"]
    assert len(to_ada) == 1 and "eceipt" in to_ada[0], to_ada
    assert len(to_bea) == 1 and "nvoice" in to_bea[0], to_bea


def test_a_month_of_sessions_is_one_invoice_per_payer_at_the_billing_days_cutoff(
    world: World, month: dict[str, Any]
) -> None:
    p, ids = month["practice"], month["ids"]
    before = charges(world)
    listing = _tonight(world, p.id, "2026-11-30")
    wills = {i["session_id"]: (i["will"], i["bills_on"]) for i in listing["ready"]}
    expected = ("consolidated on the 1st (2026-12-01)", "2026-12-01")
    assert wills == dict.fromkeys(ids["ada"] + ids["bea"], expected)
    assert (listing["totals"]["to_charge"], listing["totals"]["to_send"], listing["totals"]["later"]) == (
        0,
        0,
        6,
    )
    run = _night(world, p.id, "2026-11-30")
    assert run["items"] == [] and run["report"]["later"] == 6 and charges(world) == before
    dec = _tonight(world, p.id, "2026-12-01")
    wills = {i["session_id"]: i["will"] for i in dec["ready"]}
    assert wills[ids["ada"][0]] == "consolidated tonight, charged"
    assert wills[ids["bea"][0]] == "consolidated tonight, sent"
    assert wills[ids["ada_dec"][0]] == "consolidated on the 1st (2027-01-01)"  # served on the billing day
    assert (dec["totals"]["to_charge"], dec["totals"]["to_send"], dec["totals"]["later"]) == (4, 2, 1)
    # The cutoff of 1 December is 23:00 New York time (04:00 UTC the next day, after the clocks
    # went back in November).
    assert dec["cutoff_at"].startswith("2026-12-02T04:00:00")
    _night(world, p.id, "2026-12-01")
    _assert_december_billed_once(world, month, before)
    # The next night bills nothing more; the session of 1 December waits for 1 January.
    run = _night(world, p.id, "2026-12-02")
    assert run["items"] == [] and run["report"]["later"] == 1 and charges(world) == before + 1


def test_a_billing_day_of_31_bills_on_the_months_last_day(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    _automation(world, practice.id, {"billing_cadence": "monthly", "monthly_billing_day": 31})
    svc = service(world, practice, PRICE)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    jan = [
        session_on(world, practice, ada["id"], svc, local(d, 9))["id"] for d in ("2027-01-04", "2027-01-29")
    ]
    on_the_day = session_on(world, practice, ada["id"], svc, local("2027-01-31", 9))["id"]
    feb = session_on(world, practice, ada["id"], svc, local("2027-02-10", 9))["id"]
    # Cy's consent allows charges up to 200.00: each session fits, their sum does not.
    cy = scenario.create_client(world, practice, first_name="Cy", email="cy@client.test")
    scenario.save_card(world, practice, cy["id"], max_amount=20_000)
    for d in ("2027-01-05", "2027-01-06"):
        session_on(world, practice, cy["id"], svc, local(d, 10))
    before = charges(world)
    assert _night(world, practice.id, "2027-01-30")["items"] == []
    wills = {(i["client_id"], i["will"]) for i in _tonight(world, practice.id, "2027-01-31")["ready"]}
    assert wills == {
        (ada["id"], "consolidated tonight, charged"),
        (cy["id"], "consolidated tonight, sent"),
        (ada["id"], "consolidated on the 28th (2027-02-28)"),
    }
    run = _night(world, practice.id, "2027-01-31")
    by_client = {i["client_id"]: i for i in run["items"]}
    assert by_client[ada["id"]]["sessions"] == jan and charges(world) == before + 1
    assert (by_client[cy["id"]]["outcome"], by_client[cy["id"]]["billed"]) == ("sent", 2 * PRICE)
    assert _night(world, practice.id, "2027-02-27")["items"] == []
    run = _night(world, practice.id, "2027-02-28")  # 31: the last day of February
    assert [i["sessions"] for i in run["items"]] == [[on_the_day, feb]] and charges(world) == before + 2
    totals = [i["total"] for i in _invoices(world, practice.id, ada["id"])]
    assert totals == [2 * PRICE, 2 * PRICE]


STEPS = ["claimed", "invoiced", "charged", "item-done"]  # before, within and after the billing


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_in_the_consolidation_then_a_rerun_bills_once(
    world: World, month: dict[str, Any], step: str
) -> None:
    p = month["practice"]
    before = charges(world)
    seen: list[str] = []

    def checkpoint(name: str) -> None:
        seen.append(name)
        if name == step and seen.count(name) == 1:
            raise Crash(f"crash at {step}")

    world.container.nightly.checkpoint = checkpoint
    _night(world, p.id, "2026-12-01")
    assert step in seen and run_of(world, p.id, "2026-12-01")["status"] != "done"
    world.container.nightly.checkpoint = lambda name: None
    fire(world, p.id, local("2026-12-01", 23, minute=10))  # the schedule again; SQS redelivers
    drain(world)
    _assert_december_billed_once(world, month, before)
    fire(world, p.id, local("2026-12-01", 23, minute=20))
    drain(world)
    _assert_december_billed_once(world, month, before)


def test_split_billing_makes_one_monthly_invoice_per_parent(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    _automation(world, practice.id, {"billing_cadence": "monthly"})
    svc = service(world, practice, PRICE)
    kid = scenario.create_client(world, practice, first_name="Kit", email="kit@client.test")
    mom = contact(world, practice, kid["id"], "Mia Parent", "mia@parent.test")
    dad = contact(world, practice, kid["id"], "Dan Parent", "dan@parent.test")
    scenario.save_card(world, practice, kid["id"], contact_id=mom["id"])
    rules = [
        {
            "shares": [
                {"owner_id": mom["id"], "type": "percent", "value": 5000},
                {"owner_id": dad["id"], "type": "rest"},
            ]
        }
    ]
    assert put_rules(world, practice, kid["id"], rules)[0] == 200
    for d in ("2026-11-03", "2026-11-17"):
        session_on(world, practice, kid["id"], svc, local(d, 9))
    before = charges(world)
    wills = {i["will"] for i in _tonight(world, practice.id, "2026-12-01")["ready"]}
    assert wills == {"consolidated tonight, charged (Mia Parent), sent (Dan Parent)"}  # each parent's own
    off = {"enabled": False, "contact_id": mom["id"]}
    assert world.staff("PUT", f"/clients/{kid['id']}/autopay", off, practice_id=practice.id)[0] == 200
    wills = {i["will"] for i in _tonight(world, practice.id, "2026-12-01")["ready"]}
    assert wills == {"consolidated tonight, sent (Mia Parent), sent (Dan Parent)"}
    assert (
        world.staff(
            "PUT",
            f"/clients/{kid['id']}/autopay",
            {"enabled": None, "contact_id": mom["id"]},
            practice_id=practice.id,
        )[0]
        == 200
    )
    run = _night(world, practice.id, "2026-12-01")
    assert len(run["items"]) == 1 and len(run["items"][0]["invoice_ids"]) == 2
    assert charges(world) == before + 1  # Mia's card; Dan has none: his invoice is sent
    invoices = _invoices(world, practice.id, kid["id"])
    assert sorted((i["owner_id"], i["total"], i["status"]) for i in invoices) == sorted(
        [(mom["id"], PRICE, "paid"), (dad["id"], PRICE, "open")]
    )
    assert [s for to, s, _ in mails(world) if to == "dan@parent.test" and "nvoice" in s]


def _cadence(world: World, practice_id: str, client_id: str, cadence: str | None) -> None:
    body = {"cadence": cadence}
    status, out = world.staff("PUT", f"/clients/{client_id}/billing-cadence", body, practice_id=practice_id)
    assert status == 200, out


def test_switching_cadence_and_auto_billing_in_the_month_bills_each_session_once(world: World) -> None:
    """Monthly, then nightly, monthly, at completion, monthly again with auto-billing off over the
    billing day: every session ends on exactly one invoice, each invoice paid by one charge."""
    install_queue(world)
    practice = scenario.create_practice(world)
    _automation(world, practice.id, {"billing_cadence": "monthly"})
    svc = service(world, practice, PRICE)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    served: list[str] = []

    def serve(day: str) -> None:
        served.append(session_on(world, practice, ada["id"], svc, local(day, 9))["id"])

    serve("2026-11-03")
    assert _night(world, practice.id, "2026-11-03")["items"] == []  # monthly: waits
    world.clock.now = local("2026-11-10", 8)
    _cadence(world, practice.id, ada["id"], "nightly")
    serve("2026-11-10")
    billed = sorted(i["session_id"] for i in _night(world, practice.id, "2026-11-10")["items"])
    assert billed == sorted(served)  # both, one item each
    _cadence(world, practice.id, ada["id"], "monthly")
    serve("2026-11-16")
    serve("2026-11-18")
    assert _night(world, practice.id, "2026-11-18")["items"] == []
    world.clock.now = local("2026-11-24", 8)
    _cadence(world, practice.id, ada["id"], "at_completion")
    serve("2026-11-25")  # no scheduler here: the run bills what completion has not
    assert len(_night(world, practice.id, "2026-11-25")["items"]) == 3
    world.clock.now = local("2026-11-26", 8)
    _cadence(world, practice.id, ada["id"], None)  # the practice's: monthly
    serve("2026-11-27")
    world.clock.now = local("2026-11-28", 8)
    _automation(world, practice.id, {"auto_billing": False})
    assert fire(world, practice.id, local("2026-12-01", 23))["run"] is None  # off over the billing day
    world.clock.now = local("2026-12-02", 10)
    _automation(world, practice.id, {"auto_billing": True})  # no backfill asked for: none is needed
    run = _night(world, practice.id, "2026-12-02")  # served while it was on: consolidated (its date came)
    assert [i["sessions"] for i in run["items"]] == [[served[-1]]]
    for day in ("2026-12-03", "2027-01-01"):
        assert _night(world, practice.id, day)["items"] == []
    invoices = _invoices(world, practice.id, ada["id"])
    on_invoices = sorted(line["session_id"] for i in invoices for line in i["lines"])
    assert on_invoices == sorted(served)  # each session once, none left
    assert [i["kind"] for i in invoices] == ["session"] * 5 + ["monthly"]
    assert {i["status"] for i in invoices} == {"paid"} and charges(world) == len(invoices)
    world.clock.now = local("2027-01-02", 20)
    assert world.staff("GET", "/nightly/tonight", practice_id=practice.id)[1]["ready"] == []


def test_a_billing_day_outside_1_to_31_is_refused_with_nothing_written(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    before = world.staff("GET", "/practice/billing-automation", practice_id=practice.id)[1]
    for bad in (
        {"monthly_billing_day": 0},
        {"monthly_billing_day": 32},
        {"monthly_billing_day": "5"},
        {"monthly_billing_day": 5.5},
        {"billing_cadence": "weekly"},
    ):
        status, body = world.staff("PUT", "/practice/billing-automation", bad, practice_id=practice.id)
        assert status == 400 and next(iter(bad)) in str(body["details"]), (bad, body)
    assert world.staff("GET", "/practice/billing-automation", practice_id=practice.id)[1] == before
    assert (
        world.staff(
            "PUT",
            "/practice/billing-automation",
            {"monthly_billing_day": 31},
            practice_id=practice.id,
            role="biller",
        )[0]
        == 403
    )
    ok = _automation(world, practice.id, {"monthly_billing_day": 31, "billing_cadence": "monthly"})
    assert (ok["monthly_billing_day"], ok["billing_cadence"], ok["version"]) == (
        31,
        "monthly",
        before["version"] + 1,
    )


def test_with_auto_billing_off_staff_billing_a_monthly_client_makes_one_invoice(
    world: World, month: dict[str, Any]
) -> None:
    p, ada, bea, ids = month["practice"], month["ada"], month["bea"], month["ids"]
    world.clock.now = local("2026-12-01", 12)
    _automation(world, p.id, {"auto_billing": False})
    ready = _tonight(world, p.id, "2026-12-01")["ready"]
    assert {(i["will"], i["bills_on"]) for i in ready} == {("waiting for staff", None)}
    before = charges(world)
    status, started = world.staff("POST", "/nightly/bill-now", {}, practice_id=p.id)
    assert status == 202, started
    drain(world)
    run = run_of(world, p.id, "2026-12-01")
    items = {i["client_id"]: i["sessions"] for i in run["items"]}
    assert items == {ada["id"]: ids["ada"] + ids["ada_dec"], bea["id"]: ids["bea"]}
    outcomes = {i["client_id"]: (i["outcome"], i["problem"]) for i in run["items"]}
    # Five sessions are USD 600.00, more than Ada's consent allows in one charge: her one invoice is sent.
    assert outcomes[ada["id"]] == ("sent", "the amount exceeds the consent's limit of USD 500.00")
    assert charges(world) == before
    assert [(len(i["lines"]), i["status"]) for i in _invoices(world, p.id, ada["id"])] == [(5, "open")]


def test_a_split_client_is_asked_about_their_own_part_of_the_month(world: World) -> None:
    """Kit pays half, Dan the rest; Kit's consent allows 200.00 a charge: Kit's half of two 120.00
    sessions (120.00) is charged, Dan's invoice is sent, and the listing says so."""
    install_queue(world)
    practice = scenario.create_practice(world)
    _automation(world, practice.id, {"billing_cadence": "monthly"})
    svc = service(world, practice, PRICE)
    kid = scenario.create_client(world, practice, first_name="Kit", email="kit@client.test")
    dad = contact(world, practice, kid["id"], "Dan Parent", "dan@parent.test")
    scenario.save_card(world, practice, kid["id"], max_amount=20_000)
    shares = [
        {"owner_id": kid["id"], "type": "percent", "value": 5000},
        {"owner_id": dad["id"], "type": "rest"},
    ]
    assert put_rules(world, practice, kid["id"], [{"shares": shares}])[0] == 200
    for d in ("2026-11-03", "2026-11-17"):
        session_on(world, practice, kid["id"], svc, local(d, 9))
    before = charges(world)
    wills = {i["will"] for i in _tonight(world, practice.id, "2026-12-01")["ready"]}
    assert wills == {"consolidated tonight, charged (Kit Client), sent (Dan Parent)"}
    _night(world, practice.id, "2026-12-01")
    invoices = _invoices(world, practice.id, kid["id"])
    assert sorted((i["owner_id"] == kid["id"], i["total"], i["status"]) for i in invoices) == [
        (False, PRICE, "open"),
        (True, PRICE, "paid"),
    ]
    assert charges(world) == before + 1
