"""Eligibility off the request's path, through the scheduled entry point (moto's Scheduler): a
primary coverage added or changed in a field the 270 holds asks for a one-time check, which the
eligibility function makes; the batch the day before checks each insured client with a session
tomorrow once, and a re-run checks nobody twice; the hourly firing runs a practice's batch only at
its local batch hour."""

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
from tests.integration.eligibility_support import (
    BIRTH_DATE,
    NOT_FOUND,
    eligibility_calls,
    insured,
    with_clearinghouse,
)
from tests.integration.test_nightly_support import local, service
from therabill.core.errors import DependencyUnavailableError

TARGET = "arn:aws:lambda:us-east-1:123456789012:function:therabill-nightly-dispatch"
ELIGIBILITY = "arn:aws:lambda:us-east-1:123456789012:function:therabill-eligibility-checks"
ROLE = "arn:aws:iam::123456789012:role/therabill-scheduler"
DAY = "2026-11-20"  # the batch runs on this day (06:00 in New York) for the 21st


@pytest.fixture
def world(aws_clients: AwsClients) -> Iterator[World]:
    """The scheduler configured as in Lambda, the eligibility function its checks' target."""
    disable_socket(allow_unix_socket=True)
    with open_world(scheduler=(TARGET, ROLE), clients=aws_clients) as w:
        w.container.settings = w.container.settings.model_copy(update={"eligibility_target_arn": ELIGIBILITY})
        yield w


def _fire(world: World, event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = world.handler("eligibility_checks")(
        event, apigw.LambdaContext("eligibility-checks")
    )
    return out


def _check_schedules(world: World) -> list[dict[str, Any]]:
    client = world.session.client("scheduler")
    names = client.list_schedules(GroupName=world.resources.schedule_group, NamePrefix="eligibility-now-")
    found = [
        client.get_schedule(Name=s["Name"], GroupName=world.resources.schedule_group)
        for s in names["Schedules"]
    ]
    return [{"target": s["Target"]["Arn"], **json.loads(s["Target"]["Input"])} for s in found]


def test_a_coverage_added_or_changed_is_checked_by_the_eligibility_function(world: World) -> None:
    fake = with_clearinghouse(world)
    s = insured(world)  # POST /clients/{id}/coverage
    assert eligibility_calls(fake) == 0  # the request did not wait on the payer
    [asked] = _check_schedules(world)
    assert asked == {
        "target": ELIGIBILITY,
        "kind": "coverage",
        "practice_id": s.practice.id,
        "client_id": s.client_id,
        "coverage_id": s.coverage_id,
    }
    out = _fire(world, {k: v for k, v in asked.items() if k != "target"})
    assert out["outcome"] == "active" and eligibility_calls(fake) == 1
    coverage = world.container.coverage.get(s.practice.id, s.client_id, s.coverage_id)
    assert coverage.copay_found == 2_500  # found by the check; no schedule asked for this change
    assert len(_check_schedules(world)) == 1

    path = f"/clients/{s.client_id}/coverage/{s.coverage_id}"
    status, _ = world.staff("PATCH", path, {"copay_override": 2_000}, practice_id=s.practice.id)
    assert status == 200 and len(_check_schedules(world)) == 1  # staff's copay: no new check
    status, _ = world.staff("PATCH", path, {"member_id": NOT_FOUND}, practice_id=s.practice.id)
    assert status == 200 and len(_check_schedules(world)) == 2
    # The same firing (its ids), now for the changed member id: asked again the same day.
    assert _fire(world, {k: v for k, v in asked.items() if k != "target"})["outcome"] == "rejected"
    assert _fire(world, {k: v for k, v in asked.items() if k != "target"})["outcome"] == "repeated"
    assert eligibility_calls(fake) == 2

    class Down:  # a scheduler that cannot be reached never fails the coverage request
        def request(self, *args: Any, **kwargs: Any) -> None:
            raise DependencyUnavailableError("the scheduler could not be reached")

    world.container.eligibility_requests = Down()
    client = scenario.create_client(world, s.practice, billing_type="insurance")
    scenario.add_coverage(world, s.practice, client["id"], patient_birth_date=BIRTH_DATE)  # 201 inside


def _book(world: World, practice: scenario.Practice, client_id: str, svc: str, hour: int, day: str) -> None:
    start = local(day, hour).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "client_id": client_id,
        "service_id": svc,
        "clinician_id": scenario.clinician(world, practice),
        "scheduled_start": start,
    }
    status, booked = world.staff(
        "POST", "/sessions", body, practice_id=practice.id, headers=scenario.booking_key()
    )
    assert status == 201, booked


def test_the_batch_checks_each_insured_client_of_tomorrow_once_and_a_rerun_checks_nobody_twice(
    world: World,
) -> None:
    fake = with_clearinghouse(world)
    world.clock.now = local(DAY, 6)
    a = insured(world)
    practice = a.practice
    svc = service(world, practice)
    b_client = scenario.create_client(world, practice, billing_type="insurance")
    scenario.add_coverage(world, practice, b_client["id"], member_id=NOT_FOUND, patient_birth_date=BIRTH_DATE)
    self_pay = scenario.create_client(world, practice)
    later = scenario.create_client(world, practice, billing_type="insurance")
    scenario.add_coverage(world, practice, later["id"], patient_birth_date=BIRTH_DATE)
    tomorrow = "2026-11-21"
    _book(world, practice, a.client_id, svc, 9, tomorrow)
    _book(world, practice, a.client_id, svc, 15, tomorrow)  # two sessions: one check
    _book(world, practice, b_client["id"], svc, 10, tomorrow)
    _book(world, practice, self_pay["id"], svc, 11, tomorrow)  # self-pay: not checked
    _book(world, practice, later["id"], svc, 10, "2026-11-22")  # the day after: not yet

    hourly = {"source": "therabill.scheduler", "schedule": "eligibility-batch"}
    at_five = (world.clock.now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _fire(world, {**hourly, "scheduled_time": at_five}) == {"practices": {}}  # not its hour
    assert eligibility_calls(fake) == 0
    at_six = world.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = _fire(world, {**hourly, "scheduled_time": at_six})
    assert out["practices"] == {practice.id: {"clients": 2, "active": 1, "rejected": 1}}
    assert eligibility_calls(fake) == 2
    checks = world.container.eligibility.checks_of(practice.id, a.client_id)
    assert [(c.trigger, c.date_of_service.isoformat()) for c in checks] == [("batch", tomorrow)]

    again = _fire(world, {"kind": "batch", "practice_id": practice.id})  # a re-run
    assert again["practices"][practice.id] == {"clients": 2, "already_checked": 2}
    assert eligibility_calls(fake) == 2
    assert world.container.eligibility.store.batch(practice.id, checks[0].date_of_service) == {
        "clients": 2,
        "already_checked": 2,
    }
