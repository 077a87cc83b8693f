"""The per-practice EventBridge Scheduler schedules (moto): created with the practice, moved when
its time zone, cutoff or summary lead time change; "run now" from the staff API (which cannot
reach the queue) as a one-time schedule; the sweep resumes runs left unfinished."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_socket import disable_socket

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import AwsClients, World, open_world
from tests.integration.test_nightly_support import drain, fire, install_queue, local, service, session_on
from therabill.adapters.scheduler import (
    NightlySchedules,
    dst_guard_schedule_name,
    run_schedule_name,
    summary_schedule_name,
)

TARGET = "arn:aws:lambda:us-east-1:123456789012:function:therabill-nightly-dispatch"
ROLE = "arn:aws:iam::123456789012:role/therabill-scheduler"
DAY = "2026-11-20"


@pytest.fixture
def world(aws_clients: AwsClients) -> Iterator[World]:
    """The world with the scheduler configured, as in Lambda."""
    disable_socket(allow_unix_socket=True)
    with open_world(scheduler=(TARGET, ROLE), clients=aws_clients) as w:
        yield w


@pytest.fixture
def schedules(world: World) -> NightlySchedules:
    adapter = world.container.nightly_schedules
    assert isinstance(adapter, NightlySchedules)
    return adapter


def _get(world: World, name: str) -> dict[str, Any]:
    out: dict[str, Any] = world.session.client("scheduler").get_schedule(
        Name=name, GroupName=world.resources.schedule_group
    )
    return out


def test_practice_schedules_follow_its_settings(world: World, schedules: NightlySchedules) -> None:
    practice = scenario.create_practice(world, connect=False, time_zone="Europe/London")
    run = _get(world, run_schedule_name(practice.id))
    assert run["ScheduleExpression"] == "cron(0 23 * * ? *)"
    assert run["ScheduleExpressionTimezone"] == "Europe/London"
    assert run["Target"]["Arn"] == TARGET and run["Target"]["RoleArn"] == ROLE
    assert json.loads(run["Target"]["Input"]) == {"practice_id": practice.id, "kind": "run"}
    summary = _get(world, summary_schedule_name(practice.id))
    assert summary["ScheduleExpression"] == "cron(0 20 * * ? *)"  # 3 hours before by default
    assert json.loads(summary["Target"]["Input"])["kind"] == "summary"
    assert _get(world, dst_guard_schedule_name(practice.id))["State"] == "DISABLED"  # 23:00 is never skipped
    # Settings change: the schedules move with them.
    status, body = world.staff(
        "PATCH", "/practice", {"time_zone": "America/Chicago", "cutoff_hour": 2}, practice_id=practice.id
    )
    assert status == 200, body
    run = _get(world, run_schedule_name(practice.id))
    assert (run["ScheduleExpression"], run["ScheduleExpressionTimezone"]) == (
        "cron(0 2 * * ? *)",
        "America/Chicago",
    )
    # 02:00 in Chicago is skipped on the spring-forward night: the guard an hour later is enabled.
    guard = _get(world, dst_guard_schedule_name(practice.id))
    assert (guard["ScheduleExpression"], guard["State"]) == ("cron(0 3 * * ? *)", "ENABLED")
    assert json.loads(guard["Target"]["Input"]) == {
        "practice_id": practice.id,
        "kind": "run",
        "trigger": "dst-guard",
    }
    status, _ = world.staff("PATCH", "/practice", {"cutoff_hour": 23}, practice_id=practice.id)
    assert status == 200
    assert _get(world, dst_guard_schedule_name(practice.id))["State"] == "DISABLED"  # 23:00 always exists
    status, _ = world.staff("PUT", "/nightly/settings", {"summary_hours_before": 4}, practice_id=practice.id)
    assert status == 200
    assert _get(world, summary_schedule_name(practice.id))["ScheduleExpression"] == "cron(0 19 * * ? *)"
    # A change that does not touch the schedule writes none (the name is not a schedule field).
    calls = schedules.request_count
    world.staff("PATCH", "/practice", {"name": "Harbor"}, practice_id=practice.id)
    assert schedules.request_count == calls


def test_run_now_from_the_staff_api_is_a_one_time_schedule(world: World, schedules: NightlySchedules) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    client = scenario.create_client(world, practice, email="bea@client.test")
    session_on(world, practice, client["id"], svc, local(DAY, 10))
    # The staff API has no queue: drop it there, keep the workers' (the same container here).
    nightly = world.container.nightly
    queue = nightly.queue
    nightly.use_queue(None)
    try:
        world.clock.now = local(DAY, 21)
        status, body = world.staff("POST", "/billing-runs", practice_id=practice.id)
    finally:
        nightly.use_queue(queue)
    assert status == 202, body
    assert body["run"]["id"] == f"run:{practice.id}:{DAY}" and body["run"]["status"] == "planning"
    listed = world.session.client("scheduler").list_schedules(GroupName=world.resources.schedule_group)
    (once,) = [s for s in listed["Schedules"] if s["Name"].startswith(f"nightly-now-{practice.id}")]
    detail = _get(world, once["Name"])
    assert detail["ScheduleExpression"].startswith("at(2026-11-21T02:00:00")
    assert detail["ActionAfterCompletion"] == "DELETE"
    event = json.loads(detail["Target"]["Input"])
    assert event["practice_id"] == practice.id and event["trigger"].startswith("staff:")
    assert event["run_date"] == DAY  # it resumes that run, however late it fires
    # What the one-time schedule delivers to nightly-dispatch: the run resumes and completes, even
    # when it fires past the next run date's start (12 hours before the next cutoff).
    world.clock.now = local("2026-11-21", 11, minute=1)
    world.handler("nightly_dispatch")(event, apigw.LambdaContext("nightly-dispatch"))
    drain(world)
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=practice.id)[1]
    assert run["status"] == "done" and run["report"]["invoices_sent"] == 1
    assert world.staff("GET", "/billing-runs/2026-11-21", practice_id=practice.id)[0] == 404  # none early


def test_the_sweep_resumes_a_run_whose_messages_were_lost(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    client = scenario.create_client(world, practice, email="bea@client.test")
    session_on(world, practice, client["id"], svc, local(DAY, 10))
    fire(world, practice.id, local(DAY, 23))
    from tests.integration.test_nightly_support import purge

    purge(world)  # the plan message is lost (parked in the DLQ, say)
    sweep = {"schedule": "nightly-sweep", "scheduled_time": "2026-11-21T04:05:00Z"}
    world.clock.now = local(DAY, 23, minute=5)
    out = world.handler("nightly_dispatch")(sweep, apigw.LambdaContext("d"))
    assert out["sweep"] == {"open": 1, "resumed": 0, "failed": 0}  # too young to resume
    world.clock.now = local(DAY, 23) + timedelta(minutes=15)
    out = world.handler("nightly_dispatch")(sweep, apigw.LambdaContext("d"))
    assert out["sweep"] == {"open": 1, "resumed": 1, "failed": 0}
    drain(world)
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=practice.id)[1]
    assert run["status"] == "done" and run["report"]["items_billed"] == 1
    out = world.handler("nightly_dispatch")(sweep, apigw.LambdaContext("d"))
    assert out["sweep"] == {"open": 0, "resumed": 0, "failed": 0}  # done runs leave the index
