"""Auto-billing off: the run at the cutoff bills nothing (the items stay Ready, shown as waiting for
staff), and staff bill a selection or all of them now as a run of its own with its report, each
session once — the same selection sent twice at once bills once."""

from __future__ import annotations

from typing import Any

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    charges,
    drain,
    fire,
    install_queue,
    local,
    mails,
    purge,
    run_of,
    service,
    session_on,
)

DAY = "2026-11-20"


def _off(world: World) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Auto-billing off; tonight Ada (card on file) and Bea (an email) each had a session."""
    install_queue(world)
    practice = scenario.create_practice(world)
    status, body = world.staff(
        "PUT", "/practice/billing-automation", {"auto_billing": False}, practice_id=practice.id
    )
    assert status == 200 and body["auto_billing"] is False, body
    svc = service(world, practice)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    bea = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    sessions = {
        "ada": session_on(world, practice, ada["id"], svc, local(DAY, 9)),
        "bea": session_on(world, practice, bea["id"], svc, local(DAY, 10)),
    }
    return practice, sessions, {"ada": ada, "bea": bea}


def bill_now(world: World, practice_id: str, body: dict[str, Any], role: str = "owner") -> tuple[int, Any]:
    return world.staff("POST", "/nightly/bill-now", body, practice_id=practice_id, role=role)


def client_mail(world: World) -> list[str]:
    return [s for to, s, _ in mails(world) if to.endswith("@client.test")]


def test_the_cutoff_bills_nothing_and_the_summary_says_waiting_for_staff(world: World) -> None:
    practice, s, _ = _off(world)
    world.clock.now = local(DAY, 20)
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert listing["auto_billing"] is False
    assert {i["session_id"]: i["will"] for i in listing["ready"]} == {
        s["ada"]["id"]: "waiting for staff",
        s["bea"]["id"]: "waiting for staff",
    }
    fire(world, practice.id, local(DAY, 20), kind="summary")
    (summary,) = [t for _, subject, t in mails(world) if subject.startswith("Tonight's billing run")]
    assert "Auto-billing is off: 2 Ready item(s) wait for staff to bill them." in summary
    assert summary.count(": waiting for staff USD 120.00") == 2
    before = charges(world)
    assert fire(world, practice.id, local(DAY, 23))["run"] is None
    drain(world)
    assert charges(world) == before and client_mail(world) == []
    assert world.staff("GET", "/billing-runs", practice_id=practice.id)[1]["items"] == []
    world.clock.now = local(DAY, 23, minute=30)
    _, after = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert len(after["ready"]) == 2  # still Ready


def test_staff_bill_a_selection_once_as_a_run_with_its_report(world: World) -> None:
    practice, s, _ = _off(world)
    world.clock.now = local(DAY, 21)
    before = charges(world)
    status, started = bill_now(world, practice.id, {"session_ids": [s["ada"]["id"]]}, role="biller")
    assert status == 202 and started["run"]["trigger"].startswith("staff:"), started
    drain(world)
    run = run_of(world, practice.id, DAY)
    assert run["status"] == "done" and [i["session_id"] for i in run["items"]] == [s["ada"]["id"]]
    assert (run["report"]["items_billed"], run["report"]["cards_charged"], run["report"]["waiting"]) == (
        1,
        1,
        1,
    )
    assert charges(world) == before + 1
    # The same selection again: the same run, nothing billed twice.
    assert bill_now(world, practice.id, {"session_ids": [s["ada"]["id"]]})[0] == 202
    drain(world)
    assert charges(world) == before + 1
    # The cutoff firing resumes the staff run and bills nothing more.
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert charges(world) == before + 1 and len(run_of(world, practice.id, DAY)["items"]) == 1
    # Later that night staff bill Bea too: the date's run bills her and reports again (its second
    # report); Ada is not billed twice.
    world.clock.now = local(DAY, 23, minute=30)
    status, more = bill_now(world, practice.id, {"session_ids": [s["bea"]["id"], s["ada"]["id"]]})
    assert status == 202 and more["run"]["id"] == run["id"] and more["run"]["status"] == "planning", more
    drain(world)
    run = run_of(world, practice.id, DAY)
    assert run["status"] == "done" and run["planned"] == run["finished"] == 2, run
    outcomes = {i["session_id"]: i["outcome"] for i in run["items"]}
    assert outcomes == {s["ada"]["id"]: "charged", s["bea"]["id"]: "sent"}
    assert (run["report"]["items_billed"], run["report"]["waiting"]) == (2, 0)
    assert charges(world) == before + 1
    reports = [subject for _, subject, _ in mails(world) if subject.startswith("Billing run")]
    assert reports == [
        "Billing run 2026-11-20: 1 billed, 0 failed",
        "Billing run 2026-11-20: 2 billed, 0 failed",
    ]
    assert sorted(client_mail(world)) == sorted(
        [
            "Receipt from Harbor Family Practice: USD 120.00",
            "Invoice INV-000002 from Harbor Family Practice: USD 120.00 due",
        ]
    )
    # Nothing is left: "bill all" the next night finds nothing more to bill.
    world.clock.now = local("2026-11-21", 23, minute=30)
    status, rest = bill_now(world, practice.id, {})
    assert status == 202 and rest["run"]["run_date"] == "2026-11-21", rest
    drain(world)
    assert run_of(world, practice.id, "2026-11-21")["items"] == [] and charges(world) == before + 1


def test_the_same_selection_sent_twice_at_once_bills_once(world: World) -> None:
    """Two requests with the same selection before the worker has billed anything: one run, each
    session billed once."""
    practice, s, _ = _off(world)
    world.clock.now = local(DAY, 21)
    selection = {"session_ids": [s["bea"]["id"], s["ada"]["id"]]}
    before = charges(world)
    first, second = bill_now(world, practice.id, selection), bill_now(world, practice.id, selection)
    assert first[0] == second[0] == 202 and first[1]["run"]["id"] == second[1]["run"]["id"], (first, second)
    drain(world)
    run = run_of(world, practice.id, DAY)
    assert run["finished"] == run["planned"] == 2 and run["report"]["items_billed"] == 2
    assert charges(world) == before + 1  # Ada's card once; Bea's invoice once
    assert len([m for m in client_mail(world) if m.startswith("Invoice")]) == 1


def test_bill_now_refusals_tenancy_and_bad_input(world: World) -> None:
    practice, s, _ = _off(world)
    other = scenario.create_practice(world, connect=False)
    world.clock.now = local(DAY, 21)
    ada = s["ada"]["id"]
    assert bill_now(world, practice.id, {"session_ids": [ada]}, role="front_desk")[0] == 403
    status, body = bill_now(world, other.id, {"session_ids": [ada]})  # another practice's session
    assert status == 409, body  # auto-billing is on there
    world.staff("PUT", "/practice/billing-automation", {"auto_billing": False}, practice_id=other.id)
    status, body = bill_now(world, other.id, {"session_ids": [ada]})
    assert status == 400 and body["details"]["session_ids"] == [ada], body
    for bad in ({"session_ids": []}, {"session_ids": ["nope"]}, {"session_ids": [ada], "all": True}):
        status, body = bill_now(world, practice.id, bad)
        assert (status == 400 and "session_ids" in str(body)) or "all" in str(body), (bad, body)
    assert world.staff("GET", "/billing-runs", practice_id=practice.id)[1]["items"] == []  # nothing written
    world.staff("PUT", "/practice/billing-automation", {"auto_billing": True}, practice_id=practice.id)
    status, body = bill_now(world, practice.id, {"session_ids": [ada]})
    assert status == 409 and "auto-billing is on" in body["message"], body


def test_turned_off_after_the_nights_run_staff_bill_a_late_session_on_that_run(world: World) -> None:
    """The regular run billed Ada at the cutoff; auto-billing is then turned off and Bea's session,
    completed after the cutoff, is billed by staff that night: the date's run bills it too."""
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    bea = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    session_on(world, practice, ada["id"], svc, local(DAY, 9))
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert run_of(world, practice.id, DAY)["report"]["items_billed"] == 1
    late = session_on(world, practice, bea["id"], svc, local(DAY, 23, minute=5))["id"]
    world.clock.now = local(DAY, 23, minute=59)
    off = {"auto_billing": False}
    assert world.staff("PUT", "/practice/billing-automation", off, practice_id=practice.id)[0] == 200
    status, started = bill_now(world, practice.id, {"session_ids": [late]})
    assert status == 202 and started["run"]["status"] == "planning", started
    drain(world)
    run = run_of(world, practice.id, DAY)
    assert {i["session_id"]: i["outcome"] for i in run["items"]}[late] == "sent"
    assert run["report"]["items_billed"] == 2 and run["status"] == "done"


def test_staff_bill_now_on_a_night_the_calendar_skips(world: World) -> None:
    """Auto-billing on with tonight skipped (a holiday): staff bill what waits for them now, and
    the run does not wait for the sweep."""
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    world.clock.now = local("2026-11-10", 8)
    off = {"auto_billing": False}
    assert world.staff("PUT", "/practice/billing-automation", off, practice_id=practice.id)[0] == 200
    old = session_on(world, practice, ada["id"], svc, local("2026-11-10", 9))["id"]
    world.clock.now = local(DAY, 8)
    on = {"auto_billing": True}
    assert world.staff("PUT", "/practice/billing-automation", on, practice_id=practice.id)[0] == 200
    holidays = {"holidays": {DAY: "skip"}}
    assert world.staff("PUT", "/nightly/settings", holidays, practice_id=practice.id)[0] == 200
    today = session_on(world, practice, ada["id"], svc, local(DAY, 9))["id"]  # billed by the next run
    before = charges(world)
    world.clock.now = local(DAY, 15)
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    wills = {i["session_id"]: i["will"] for i in listing["ready"]}
    assert wills == {old: "waiting for staff", today: "no run tonight (holiday): billed by the next run"}
    assert (listing["totals"]["to_charge"], listing["totals"]["waiting_for_staff"]) == (0, 1)
    status, started = bill_now(world, practice.id, {"session_ids": [old]})
    assert status == 202, started
    purge(world)  # as from the staff API: the run is made, a one-time firing sends its plan
    assert fire(world, practice.id, local(DAY, 15, minute=1))["run"] == started["run"]["id"]
    drain(world)
    run = run_of(world, practice.id, DAY)
    assert run["status"] == "done" and [i["session_id"] for i in run["items"]] == [old]  # only the pick
    assert charges(world) == before + 1


def test_more_sessions_while_the_run_still_bills_are_refused_until_it_is_done(world: World) -> None:
    practice, s, _ = _off(world)
    world.clock.now = local(DAY, 21)
    status, started = bill_now(world, practice.id, {"session_ids": [s["ada"]["id"]]})
    assert status == 202
    status, refused = bill_now(world, practice.id, {"session_ids": [s["bea"]["id"]]})  # not drained yet
    assert status == 409 and refused["details"]["run_id"] == started["run"]["id"], refused
    assert "still billing" in refused["message"]
    drain(world)
    assert bill_now(world, practice.id, {"session_ids": [s["bea"]["id"]]})[0] == 202  # done: extended
    drain(world)
    run = run_of(world, practice.id, DAY)
    assert sorted(i["session_id"] for i in run["items"]) == sorted([s["ada"]["id"], s["bea"]["id"]])
