"""Helpers for the nightly run's integration tests (no tests here): a moto SQS queue for the
fan-out, the entry points driven like SQS and EventBridge Scheduler drive them, and sessions on
chosen days."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import World
from therabill.adapters.sqs import SqsQueue
from therabill.core.ids import derived_id

NIGHTLY_QUEUE = "therabill-nightly-test"

# Staff members the nightly tests sign in as (their staff ids; the harness makes each member on
# first use): clinicians C1 and C2, C1's supervisor SUP1, a biller B1 and an owner OWNER1; SUP2
# and X1 supervise nobody.
C1, C2, SUP1, SUP2, B1, X1, OWNER1 = (
    derived_id("stf", "nightly-tests", n) for n in ("c1", "c2", "sup1", "sup2", "b1", "x1", "owner-1")
)


def clinicians(world: World, practice_id: str, *more: str) -> None:
    """The nightly tests' clinicians and supervisors (C1, C2, SUP1, SUP2) and ``more`` as staff
    members of the practice with the clinician role (each made on first use, left as it is after):
    sessions and supervision name staff ids. The same ids in a second practice of the world are
    members with no sign-in there (a user is named by its staff id, so one practice signs in)."""
    for staff_id in (C1, C2, SUP1, SUP2, *more):
        if (practice_id, staff_id) in world._members:
            continue
        if any(sid == staff_id for _, sid in world._members):
            world.container.staff.add_without_sign_in(practice_id, name=staff_id, staff_id=staff_id)
        else:
            world.member(practice_id, "clinician", staff_id=staff_id)


def install_queue(world: World) -> str:
    sqs = world.session.client("sqs")
    url = str(sqs.create_queue(QueueName=NIGHTLY_QUEUE)["QueueUrl"])
    queue = SqsQueue(sqs, url)
    world.container.nightly_queue = queue  # type: ignore[misc]
    world.container.nightly.use_queue(queue)
    return url


def drain(world: World, *, max_rounds: int = 200) -> list[dict[str, Any]]:
    """Play the SQS event source for the nightly worker; stop at the first failed batch (its
    messages stay queued, like a visibility timeout that has not expired)."""
    sqs = world.session.client("sqs")
    url = sqs.get_queue_url(QueueName=NIGHTLY_QUEUE)["QueueUrl"]
    results: list[dict[str, Any]] = []
    handler = world.handler("nightly_worker")
    for _ in range(max_rounds):
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        messages = out.get("Messages", [])
        if not messages:
            return results
        event = apigw.sqs_event([m["Body"] for m in messages], message_ids=[m["MessageId"] for m in messages])
        result = handler(event, apigw.LambdaContext("nightly-worker"))
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        results.append(result)
        if failed:
            return results
    raise AssertionError("the nightly queue never drained")


def purge(world: World) -> None:
    sqs = world.session.client("sqs")
    url = sqs.get_queue_url(QueueName=NIGHTLY_QUEUE)["QueueUrl"]
    while True:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if not out.get("Messages"):
            return
        for m in out["Messages"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def fire(world: World, practice_id: str, at: datetime, kind: str = "run") -> dict[str, Any]:
    """What the practice's schedule sends to nightly-dispatch."""
    event = {"practice_id": practice_id, "kind": kind, "scheduled_time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    world.clock.now = at
    result: dict[str, Any] = world.handler("nightly_dispatch")(event, apigw.LambdaContext("nightly-dispatch"))
    return result


def local(day: str, hour: int, tz: str = "America/New_York", minute: int = 0) -> datetime:
    naive = datetime.fromisoformat(day).replace(hour=hour, minute=minute)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def service(world: World, practice: scenario.Practice, price: int = 12_000) -> str:
    status, svc = world.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": price},
        practice_id=practice.id,
    )
    assert status == 201, svc
    return str(svc["id"])


def session_on(
    world: World,
    practice: scenario.Practice,
    client_id: str,
    service_id: str,
    start: datetime,
    *,
    outcome: str = "complete",
    clinician: str = C1,
) -> dict[str, Any]:
    """Book a session with ``clinician`` at ``start`` (the clock set to an hour before it), then
    complete it, mark it a no-show (``no_show``) or leave it booked (``booked``)."""
    clinicians(world, practice.id, clinician)
    world.clock.now = start - timedelta(hours=1)
    iso = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    status, s = world.staff(
        "POST",
        "/sessions",
        {"client_id": client_id, "service_id": service_id, "clinician_id": clinician, "scheduled_start": iso},
        practice_id=practice.id,
        headers={"Idempotency-Key": f"book-{client_id}-{clinician}-{iso}"},
    )
    assert status == 201, s
    if outcome == "booked":
        return dict(s)
    if outcome == "no_show":
        world.clock.now = start + timedelta(minutes=20)
        status, s = world.staff("POST", f"/sessions/{s['id']}/no-show", practice_id=practice.id)
        assert status == 200, s
        return dict(s)
    world.clock.now = start
    status, _ = world.staff("POST", f"/sessions/{s['id']}/check-in", practice_id=practice.id)
    assert status == 200
    end = (start + timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.clock.now = start + timedelta(minutes=55)
    status, done = world.staff(
        "POST",
        f"/sessions/{s['id']}/complete",
        {"actual_start": iso, "actual_end": end},
        practice_id=practice.id,
    )
    assert status == 200, done
    return dict(done)


def charges(world: World) -> int:
    """Card charges Stripe made (a replay under the same idempotency key makes none)."""
    return len(world.stripe.events_of_type("payment_intent.succeeded"))


def mails(world: World) -> list[tuple[str, str, str]]:
    """(to, subject, text) of every email sent."""
    out = []
    for m in world.emails():
        msg = email.message_from_string(m.raw_data, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        out.append((str(msg["To"]), str(msg["Subject"]), str(text)))
    return out


def subjects(world: World, part: str = "") -> list[str]:
    return sorted(s for _, s, _ in mails(world) if part in s)


def run_of(world: World, practice_id: str, run_date: str) -> dict[str, Any]:
    status, run = world.staff("GET", f"/billing-runs/{run_date}", practice_id=practice_id)
    assert status == 200, run
    return dict(run)


def dumps(x: Any) -> str:
    return json.dumps(x, sort_keys=True, default=str)


def insure(world: World, practice: scenario.Practice, client_id: str) -> None:
    """Make the client insured: billing type insurance and a primary coverage (no copay)."""
    status, body = world.staff(
        "PATCH", f"/clients/{client_id}", {"billing_type": "insurance"}, practice_id=practice.id
    )
    assert status == 200, body
    scenario.add_coverage(world, practice, client_id)
    clinicians(world, practice.id)
    scenario.provider_setup(world, practice, C1, C2)  # the billing provider and the clinicians' NPIs


class Claims:
    """A stand-in for the insurance capability's claims port: records what it was given."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, practice: Any, session: Any, *, run_id: str) -> str:
        self.submitted.append(session.id)
        return f"clm_{session.id[4:]}"
