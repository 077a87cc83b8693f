"""Turning auto-billing on with a backfill date: the unbilled sessions served from that date until
the day it was turned on are billed by the next run (listed apart as the backfill), older ones wait
for staff, and nothing is billed twice."""

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
    run_of,
    service,
    session_on,
)

DAYS = ("2026-11-10", "2026-11-12", "2026-11-14")  # three sessions while auto-billing was off
ON = "2026-11-16"  # the day auto-billing is turned on


def _automation(world: World, practice_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    return world.staff("PUT", "/practice/billing-automation", body, practice_id=practice_id)


def _bill_now(world: World, practice_id: str, ids: list[str]) -> tuple[int, Any]:
    return world.staff("POST", "/nightly/bill-now", {"session_ids": ids}, practice_id=practice_id)


def _off_with_three_days(world: World) -> tuple[scenario.Practice, list[str]]:
    install_queue(world)
    practice = scenario.create_practice(world)
    world.clock.now = local("2026-11-09", 8)  # turned off before the three sessions
    assert _automation(world, practice.id, {"auto_billing": False})[0] == 200
    svc = service(world, practice)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    ids = [session_on(world, practice, ada["id"], svc, local(day, 9))["id"] for day in DAYS]
    for day in DAYS:  # the cutoffs while it is off bill nothing
        assert fire(world, practice.id, local(day, 23))["run"] is None
    return practice, ids


def test_turning_on_backfills_from_the_date_and_leaves_the_older_for_staff(world: World) -> None:
    practice, (old, mid, late) = _off_with_three_days(world)
    world.clock.now = local(ON, 10)
    status, body = _automation(world, practice.id, {"auto_billing": True, "backfill_from": "2026-11-11"})
    assert status == 200, body
    assert (body["auto_billing"], body["auto_billing_since"], body["backfill_from"]) == (
        True,
        ON,
        "2026-11-11",
    )
    world.clock.now = local(ON, 20)
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert [(i["session_id"], i["will"]) for i in listing["backfill"]] == [
        (mid, "charged now"),
        (late, "charged now"),
    ]
    assert [(i["session_id"], i["will"]) for i in listing["ready"]] == [(old, "waiting for staff")]
    assert listing["totals"]["backfill"] == 2
    before = charges(world)
    fire(world, practice.id, local(ON, 23))
    drain(world)
    run = run_of(world, practice.id, ON)
    assert sorted(i["session_id"] for i in run["items"]) == sorted([mid, late])
    assert run["report"]["items_billed"] == 2 and charges(world) == before + 2
    # The next night: nothing more; the older session still waits for staff.
    fire(world, practice.id, local("2026-11-17", 23))
    drain(world)
    assert run_of(world, practice.id, "2026-11-17")["items"] == [] and charges(world) == before + 2
    world.clock.now = local("2026-11-18", 20)
    _, later = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert later["backfill"] == []
    assert [(i["session_id"], i["will"]) for i in later["ready"]] == [(old, "waiting for staff")]
    # Staff bill it now (auto-billing on: only what waits for staff may be chosen), once.
    assert _bill_now(world, practice.id, [mid])[0] == 409
    status, started = _bill_now(world, practice.id, [old])
    assert status == 202 and started["run"]["run_date"] == "2026-11-18", started
    drain(world)
    assert [i["session_id"] for i in run_of(world, practice.id, "2026-11-18")["items"]] == [old]
    assert charges(world) == before + 3
    fire(world, practice.id, local("2026-11-18", 23))
    drain(world)
    assert charges(world) == before + 3
    world.clock.now = local("2026-11-19", 20)
    assert world.staff("GET", "/nightly/tonight", practice_id=practice.id)[1]["ready"] == []


def test_turning_on_without_a_backfill_date_bills_none_of_the_older(world: World) -> None:
    practice, ids = _off_with_three_days(world)
    world.clock.now = local(ON, 10)
    assert _automation(world, practice.id, {"auto_billing": True})[1]["backfill_from"] is None
    before = charges(world)
    fire(world, practice.id, local(ON, 23))
    drain(world)
    assert run_of(world, practice.id, ON)["items"] == [] and charges(world) == before
    world.clock.now = local("2026-11-17", 20)
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert {i["session_id"]: i["will"] for i in listing["ready"]} == dict.fromkeys(ids, "waiting for staff")


def test_bad_backfill_dates_are_refused_with_nothing_written_and_tenancy(world: World) -> None:
    practice, _ = _off_with_three_days(world)
    other = scenario.create_practice(world, connect=False)
    world.clock.now = local(ON, 10)
    version = world.staff("GET", "/practice/billing-automation", practice_id=practice.id)[1]["version"]
    for bad in (
        {"auto_billing": True, "backfill_from": "2026-11-17"},  # after today
        {"auto_billing": True, "backfill_from": "2026-13-01"},
        {"backfill_from": "2026-11-11"},  # without turning it on
        {"auto_billing": False, "backfill_from": "2026-11-11"},
    ):
        status, body = _automation(world, practice.id, bad)
        assert status == 400 and "backfill_from" in str(body), (bad, body)
    assert _automation(world, practice.id, {"auto_billing": True, "backfill_from": ON})[0] == 200  # today
    after = world.staff("GET", "/practice/billing-automation", practice_id=practice.id)[1]
    assert after["version"] == version + 1 and after["backfill_from"] == ON
    # Already on: a backfill date is refused.
    status, body = _automation(world, practice.id, {"auto_billing": True, "backfill_from": "2026-11-11"})
    assert status == 400 and "already on" in body["message"], body
    # The other practice's settings are its own; the biller may not change them.
    theirs = world.staff("GET", "/practice/billing-automation", practice_id=other.id)[1]
    assert (theirs["auto_billing_since"], theirs["backfill_from"]) == (None, None)
    status, _ = world.staff(
        "PUT", "/practice/billing-automation", {"auto_billing": True}, practice_id=practice.id, role="biller"
    )
    assert status == 403


def test_turning_it_off_and_on_again_leaves_the_earlier_ones_for_staff(world: World) -> None:
    """Sessions served while auto-billing was off, left for staff when it was turned on, are still
    left for staff after it is turned off and on once more; one served while it was on is billed."""
    practice, ids = _off_with_three_days(world)
    world.clock.now = local(ON, 10)
    assert _automation(world, practice.id, {"auto_billing": True})[0] == 200
    svc = service(world, practice)
    ada = world.staff("GET", "/clients", practice_id=practice.id, query={"limit": "5"})[1]["items"][0]
    served_on = session_on(world, practice, ada["id"], svc, local("2026-11-17", 9))["id"]
    world.clock.now = local("2026-11-18", 12)
    assert _automation(world, practice.id, {"auto_billing": False})[0] == 200
    world.clock.now = local("2026-11-22", 10)
    assert _automation(world, practice.id, {"auto_billing": True})[0] == 200
    world.clock.now = local("2026-11-22", 20)
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    wills = {i["session_id"]: i["will"] for i in listing["ready"]}
    assert wills == {**dict.fromkeys(ids, "waiting for staff"), served_on: "charged now"}
    before = charges(world)
    fire(world, practice.id, local("2026-11-22", 23))
    drain(world)
    assert [i["session_id"] for i in run_of(world, practice.id, "2026-11-22")["items"]] == [served_on]
    assert charges(world) == before + 1
