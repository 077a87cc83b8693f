"""The nights the clocks change (America/New_York 2026-03-08 / 2026-11-01, Europe/London
2026-03-29 / 2026-10-25): the practice's schedule (cron in its IANA zone, as EventBridge Scheduler
evaluates it) fires once on that local date, and however many times it (or a retry, or staff)
fires around it, the date has exactly one run and each session is billed once."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from devstack.schedule_expressions import upcoming

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import drain, fire, install_queue, local, service, session_on
from therabill.adapters.scheduler import desired_schedules
from therabill.core.clock import local_date

NIGHTS = [
    ("America/New_York", "2026-03-08"),
    ("America/New_York", "2026-11-01"),
    ("Europe/London", "2026-03-29"),
    ("Europe/London", "2026-10-25"),
]


def _practice(world: World, tz: str) -> scenario.Practice:
    install_queue(world)
    currency = "gbp" if tz.startswith("Europe") else "usd"
    practice = scenario.create_practice(world, time_zone=tz)
    if currency != "usd":
        world.container.table.update(
            f"P#{practice.id}", "PRACTICE", update="SET currency = :c", values={":c": currency}
        )
    return practice


@pytest.mark.parametrize(("tz", "day"), NIGHTS)
def test_one_run_on_the_night_the_clocks_change(world: World, tz: str, day: str) -> None:
    practice = _practice(world, tz)
    svc = service(world, practice)
    client = scenario.create_client(world, practice, email="bea@client.test")
    # Sessions around the change: 00:30, 01:30 (in or next to the changed hour) and 10:00 local.
    ids = {
        session_on(world, practice, client["id"], svc, local(day, h, tz, minute=m))["id"]
        for h, m in ((0, 30), (1, 30), (10, 0))
    }
    # The schedule as EventBridge Scheduler evaluates it, from the day before to the day after.
    run_schedule = desired_schedules(world.container.practices.get(practice.id))[0]
    assert run_schedule["ScheduleExpressionTimezone"] == tz
    start = local(day, 12, tz) - timedelta(days=1)
    firings = upcoming(run_schedule["ScheduleExpression"], start, 3, time_zone=tz)
    assert [local_date(f, tz).isoformat() for f in firings] == [
        (date.fromisoformat(day) + timedelta(days=d)).isoformat() for d in (-1, 0, 1)
    ]
    assert [f.astimezone(ZoneInfo(tz)).hour for f in firings] == [23, 23, 23]  # wall clock kept
    the_night = firings[1]
    assert local_date(the_night, tz).isoformat() == day
    # Fire the scheduled instants, plus retries and late duplicates around the night.
    extra = [the_night + timedelta(minutes=m) for m in (1, 30, 90, 300, 600)]
    for at in sorted([*firings, *extra]):
        fire(world, practice.id, at)
        drain(world)
    status, runs = world.staff("GET", "/billing-runs", practice_id=practice.id)
    assert status == 200
    dates = [r["run_date"] for r in runs["items"]]
    assert sorted(dates) == sorted({local_date(f, tz).isoformat() for f in firings})
    assert dates.count(day) == 1
    night = world.staff("GET", f"/billing-runs/{day}", practice_id=practice.id)[1]
    assert {i["session_id"] for i in night["items"]} == ids
    assert all(i["outcome"] == "sent" for i in night["items"])
    status, invoices = world.staff(
        "GET", "/invoices", practice_id=practice.id, query={"client_id": client["id"]}
    )
    assert len(invoices["items"]) == 3  # one per session, not one per firing


def test_fall_back_cutoff_in_the_repeated_hour_runs_once(world: World) -> None:
    """A 01:00 cutoff on 2026-11-01 in New York: 01:00 happens twice; both firings are one run."""
    tz, day = "America/New_York", "2026-11-01"
    practice = _practice(world, tz)
    status, body = world.staff("PATCH", "/practice", {"cutoff_hour": 1}, practice_id=practice.id)
    assert status == 200, body
    svc = service(world, practice)
    client = scenario.create_client(world, practice, email="bea@client.test")
    session_on(world, practice, client["id"], svc, local("2026-10-31", 15, tz))
    first = local(day, 1, tz)  # 05:00 UTC (EDT)
    second = first + timedelta(hours=1)  # 06:00 UTC, 01:00 EST again
    assert local_date(second, tz).isoformat() == day
    for at in (first, second):
        fire(world, practice.id, at)
        drain(world)
    status, runs = world.staff("GET", "/billing-runs", practice_id=practice.id)
    assert [r["run_date"] for r in runs["items"]] == [day]
    assert runs["items"][0]["report"]["items_billed"] == 1


def test_a_cutoff_the_clocks_skip_still_runs_that_night_once(world: World) -> None:
    """A 02:00 cutoff in New York: on 2026-03-08 02:00 does not exist and Scheduler skips the run
    schedule's firing. The guard schedule (an hour later, every day) starts that night's run; on
    the nights around it, it finds the run begun and bills nothing twice."""
    tz, day = "America/New_York", "2026-03-08"
    practice = _practice(world, tz)
    status, body = world.staff("PATCH", "/practice", {"cutoff_hour": 2}, practice_id=practice.id)
    assert status == 200, body
    svc = service(world, practice)
    client = scenario.create_client(world, practice, email="bea@client.test")
    ids = [
        session_on(world, practice, client["id"], svc, local(d, 10, tz))["id"]
        for d in ("2026-03-06", "2026-03-07", "2026-03-08")
    ]
    specs = desired_schedules(world.container.practices.get(practice.id), date.fromisoformat("2026-01-01"))
    run, guard = specs[0], specs[2]
    assert guard["State"] == "ENABLED" and guard["ScheduleExpression"] == "cron(0 3 * * ? *)"
    start = local("2026-03-06", 12, tz)
    runs = upcoming(run["ScheduleExpression"], start, 3, time_zone=tz)
    guards = upcoming(guard["ScheduleExpression"], start, 3, time_zone=tz)
    # Scheduler skips 02:00 on the 8th: the run schedule fires on the 7th, 9th and 10th only.
    assert [local_date(f, tz).isoformat() for f in runs] == ["2026-03-07", "2026-03-09", "2026-03-10"]
    assert [local_date(f, tz).isoformat() for f in guards] == ["2026-03-07", "2026-03-08", "2026-03-09"]
    for at in sorted([*runs, *guards]):
        fire(world, practice.id, at)
        drain(world)
    status, listed = world.staff("GET", "/billing-runs", practice_id=practice.id)
    assert status == 200
    dates = [r["run_date"] for r in listed["items"]]
    assert sorted(dates) == ["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"]
    billed = [
        i["session_id"]
        for d in dates
        for i in world.staff("GET", f"/billing-runs/{d}", practice_id=practice.id)[1]["items"]
    ]
    assert sorted(billed) == sorted(ids)  # each session once, the 8th's in the 8th's run
    night = world.staff("GET", f"/billing-runs/{day}", practice_id=practice.id)[1]
    assert [i["session_id"] for i in night["items"]] == [ids[2]]
