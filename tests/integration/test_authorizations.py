"""Authorizations through the real handlers: the staff routes (the caller's practice only, bad
input refused in words, who may write, audit records without the codes); a completed insured
session uses one exactly once, however often the completion is retried or crashes half way; a
booking beyond it warns, or is refused under ``refuse``; a visit booked as self-pay is billed to
the client by the nightly run, while an insured one beyond the authorization waits with the
reason."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_audit_trail import call, records
from tests.integration.test_nightly_support import (
    C1,
    clinicians,
    drain,
    fire,
    install_queue,
    local,
    service,
    session_on,
)
from therabill.authorizations.store import AuthorizationStore

DAY = "2026-11-20"
PRICE = 15_000
CPT = "90837"  # the nightly support's service
REFERENCE = "PA-77123"
AUTH = {"authorized": 1, "start_date": "2026-11-01", "end_date": "2026-11-30", "reference": REFERENCE}


def _insured(world: World, practice: scenario.Practice, *, required: bool = True) -> tuple[str, str]:
    client = scenario.create_client(world, practice, billing_type="insurance", email="nia@client.test")
    coverage = scenario.add_coverage(world, practice, client["id"], authorization_required=required)
    assert coverage["authorization_required"] is required
    return str(client["id"]), str(coverage["id"])


def _key(key: str = "") -> dict[str, str]:
    """The Idempotency-Key adding requires: ``key``, or a new one each call."""
    return {"Idempotency-Key": key or f"authorization-{uuid.uuid4()}"}


def _path(client_id: str, coverage_id: str, auth_id: str = "") -> str:
    return f"/clients/{client_id}/coverage/{coverage_id}/authorizations" + (f"/{auth_id}" if auth_id else "")


def _add(world: World, practice: scenario.Practice, cid: str, cov: str, **fields: Any) -> dict[str, Any]:
    status, added = world.staff(
        "POST", _path(cid, cov), {**AUTH, **fields}, practice_id=practice.id, headers=_key()
    )
    assert status == 201, added
    return dict(added)


def _one(world: World, practice: scenario.Practice, cid: str, cov: str, auth_id: str) -> dict[str, Any]:
    status, out = world.staff("GET", _path(cid, cov, auth_id), practice_id=practice.id)
    assert status == 200, out
    return dict(out)


def _book(
    world: World, practice: scenario.Practice, cid: str, svc: str, day: str, **more: Any
) -> tuple[int, Any]:
    start = local(day, 10).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"client_id": cid, "service_id": svc, "clinician_id": C1, "scheduled_start": start, **more}
    return world.staff("POST", "/sessions", body, practice_id=practice.id, headers=scenario.booking_key())


def test_staff_routes_tenancy_bad_input_roles_and_audit(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    cid, cov = _insured(world, practice)
    status, added = call(
        world,
        "POST",
        _path(cid, cov),
        {**AUTH, "authorized": 12, "cpt_codes": [CPT]},
        practice_id=practice.id,
        headers=_key(),
    )
    assert status == 201, added
    assert (added["authorized"], added["used"], added["remaining"], added["counted"]) == (12, 0, 12, "visits")
    assert (added["cpt_codes"], added["reference"], added["status"]) == ([CPT], REFERENCE, "active")
    status, listed = call(world, "GET", _path(cid, cov), practice_id=practice.id, role="clinician")
    assert status == 200 and [a["id"] for a in listed] == [added["id"]]
    status, changed = call(
        world,
        "PATCH",
        _path(cid, cov, added["id"]),
        {"authorized": 20, "cpt_codes": None},
        practice_id=practice.id,
    )
    assert status == 200 and (changed["authorized"], changed["cpt_codes"], changed["version"]) == (20, [], 2)
    status, out = world.staff(
        "PATCH",
        _path(cid, cov, added["id"]),
        {"authorized": 3, "expected_version": 1},
        practice_id=practice.id,
    )
    assert status == 409, out
    # Bad input: the field and what it expected, never the value; nothing written.
    for body, field in (
        ({**AUTH, "end_date": "2026-10-01"}, "end_date"),
        ({**AUTH, "cpt_codes": ["9083X"]}, "cpt_codes"),
        ({**AUTH, "authorized": 0}, "authorized"),
        ({**AUTH, "used": 5}, "used"),
    ):
        status, out = world.staff("POST", _path(cid, cov), body, practice_id=practice.id, headers=_key())
        assert status == 400 and field in json.dumps(out["details"]), out
        assert "9083X" not in json.dumps(out)
    # Who may write; another practice sees nothing.
    status, _ = world.staff(
        "POST", _path(cid, cov), AUTH, practice_id=practice.id, role="clinician", headers=_key()
    )
    assert status == 403
    other = scenario.create_practice(world, connect=False)
    for method, path, body in (
        ("GET", _path(cid, cov), None),
        ("POST", _path(cid, cov), AUTH),
        ("GET", _path(cid, cov, added["id"]), None),
        ("PATCH", _path(cid, cov, added["id"]), {"authorized": 2}),
        ("DELETE", _path(cid, cov, added["id"]), None),
    ):
        status, out = world.staff(method, path, body, practice_id=other.id, headers=_key())
        assert status == 404, (method, path, out)
    status, _ = call(world, "DELETE", _path(cid, cov, added["id"]), practice_id=practice.id)
    assert status == 204
    assert _one(world, practice, cid, cov, added["id"])["status"] == "removed"
    status, listed = world.staff("GET", _path(cid, cov), practice_id=practice.id)
    assert [a["id"] for a in listed] == [added["id"]]  # kept
    # Reads and changes recorded (ids only): add, change, remove; three answers showed it.
    assert len(records(world, practice.id, "authorization.change")) == 3
    reads = records(world, practice.id, "authorization.read")
    assert {r["authorization_id"]["S"] for r in reads} == {added["id"]} and len(reads) == 3
    stored = json.dumps(records(world, practice.id))
    assert CPT not in stored and REFERENCE not in stored


def test_completing_uses_one_exactly_once_through_a_crash_and_retries(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice, price=PRICE)
    cid, cov = _insured(world, practice)
    auth = _add(world, practice, cid, cov, authorized=2)
    other_code = _add(world, practice, cid, cov, authorized=5, cpt_codes=["97110"])
    booked = session_on(world, practice, cid, svc, local(DAY, 10), outcome="booked")
    status, _ = world.staff("POST", f"/sessions/{booked['id']}/check-in", practice_id=practice.id)
    assert status == 200
    start = local(DAY, 10)
    body = {
        "actual_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "actual_end": (start + timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    world.clock.now = start + timedelta(minutes=55)
    world.dynamo.fail("transact_write_items")  # the use's transaction: after the transition
    status, out = world.staff("POST", f"/sessions/{booked['id']}/complete", body, practice_id=practice.id)
    assert status == 503, out
    status, s = world.staff("GET", f"/sessions/{booked['id']}", practice_id=practice.id)
    assert s["status"] == "completed"  # the transition is the truth
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 0
    for _ in range(3):  # the retry completes the use; more retries change nothing
        status, out = world.staff("POST", f"/sessions/{booked['id']}/complete", body, practice_id=practice.id)
        assert status == 200, out
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 1
    assert _one(world, practice, cid, cov, other_code["id"])["used"] == 0  # names another code
    # Another session's use meets a count moved since it was read: read again, counted after it.
    store = AuthorizationStore(world.container.table)
    stale = store.get(practice.id, cid, auth["id"]).model_copy(update={"used": 0})
    other = store.record_use(
        practice.id, stale, session_id="ses_other", amount=1, service_date=date(2026, 11, 21)
    )
    assert (other.through, _one(world, practice, cid, cov, auth["id"])["used"]) == (2, 2)
    # Giving back: once, however often (the void of a completed session will call it).
    authorizations = world.container.authorizations
    assert authorizations.give_back(practice.id, booked["id"]) is not None
    assert authorizations.give_back(practice.id, booked["id"]) is None
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 1


def test_a_booking_beyond_the_authorization_warns_or_is_refused_and_may_be_self_pay(world: World) -> None:
    practice = scenario.create_practice(world)
    svc = service(world, practice, price=PRICE)
    clinicians(world, practice.id)
    cid, cov = _insured(world, practice)
    _add(world, practice, cid, cov)  # one visit, in November
    world.clock.now = local("2026-11-01", 9)
    status, first = _book(world, practice, cid, svc, "2026-11-10")
    assert status == 201 and first["authorization_warning"] is None, first
    status, second = _book(world, practice, cid, svc, "2026-11-17")  # the first is still to come
    assert status == 201 and second["authorization_warning"]["code"] == "authorization_used_up", second
    status, late = _book(world, practice, cid, svc, "2026-12-01")
    assert status == 201 and late["authorization_warning"]["code"] == "authorization_expired", late
    status, settings = world.staff(
        "PUT", "/practice/booking-payment", {"authorization_enforcement": "refuse"}, practice_id=practice.id
    )
    assert status == 200 and settings["authorization_enforcement"] == "refuse"
    status, refused = _book(world, practice, cid, svc, "2026-12-08")
    assert status == 409 and refused["details"]["reason"] == "authorization_expired", refused
    status, cash = _book(world, practice, cid, svc, "2026-12-08", billing="self_pay")
    assert status == 201 and cash["billing"] == "self_pay" and cash["authorization_warning"] is None, cash
    # Under a payer that requires none, nothing is said.
    plain, plain_cov = _insured(world, practice, required=False)
    status, out = _book(world, practice, plain, svc, "2026-12-08")
    assert status == 201 and out["authorization_warning"] is None and plain_cov


def test_nightly_run_bills_a_self_pay_visit_to_the_client_and_holds_one_beyond_the_authorization(
    world: World,
) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice, price=PRICE)
    client = scenario.create_client(world, practice, billing_type="insurance", email="nia@client.test")
    cid = str(client["id"])
    cov = scenario.add_coverage(world, practice, cid, authorization_required=True, copay_override=2_500)["id"]
    scenario.save_card(world, practice, cid)
    auth = _add(world, practice, cid, cov)  # one visit
    status, _ = world.staff("PUT", f"/clients/{cid}/diagnoses", {"codes": ["F41.1"]}, practice_id=practice.id)
    assert status == 200
    within = session_on(world, practice, cid, svc, local(DAY, 9))
    beyond = session_on(world, practice, cid, svc, local(DAY, 11))
    # The cash-pay visit: booked as self-pay, no copay at check-in, the price on the client's ledger.
    clinicians(world, practice.id)
    world.clock.now = local(DAY, 12)
    status, cash = _book(
        world, practice, cid, svc, DAY, billing="self_pay", scheduled_start="2026-11-20T18:00:00Z"
    )
    assert status == 201, cash
    world.clock.now = local(DAY, 13)
    status, checked = world.staff("POST", f"/sessions/{cash['id']}/check-in", practice_id=practice.id)
    assert status == 200 and checked["copay"] is None
    world.clock.now = local(DAY, 14)
    status, _ = world.staff(
        "POST",
        f"/sessions/{cash['id']}/complete",
        {"actual_start": "2026-11-20T18:00:00Z", "actual_end": "2026-11-20T18:50:00Z"},
        practice_id=practice.id,
    )
    assert status == 200
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 2  # the two insured visits
    world.clock.now = local(DAY, 20)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert status == 200
    found = {
        i["session_id"]: (state, i["reasons"]) for state in ("ready", "incomplete") for i in listing[state]
    }
    # (No billing provider or clinician's provider record is set up here: their reasons too.)
    setup = ["insurance_setup_incomplete", "missing_provider_taxonomy"]
    assert found[within["id"]] == ("incomplete", ["claims_not_set_up", *setup])
    assert found[beyond["id"]] == ("incomplete", ["claims_not_set_up", *setup, "authorization_used_up"])
    assert found[cash["id"]] == ("ready", [])
    paid_before = len(world.stripe.events_of_type("payment_intent.succeeded"))
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    paid = [
        int(e["data"]["object"]["amount"]) for e in world.stripe.events_of_type("payment_intent.succeeded")
    ]
    assert paid[paid_before:] == [PRICE]  # the cash-pay visit, billed to the client; the claims wait


def _reasons(world: World, practice: scenario.Practice) -> dict[str, list[str]]:
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert status == 200, listing
    return {i["session_id"]: i["reasons"] for state in ("ready", "incomplete") for i in listing[state]}


def _uses(world: World, practice: scenario.Practice, *sessions: dict[str, Any]) -> list[tuple[str, int]]:
    store = AuthorizationStore(world.container.table)
    found = [store.usage(practice.id, s["id"]) for s in sessions]
    return [(u.authorization_id, u.through) if u else ("", 0) for u in found]


def test_sessions_completed_before_the_authorization_each_take_their_share_once(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice, price=PRICE)
    cid, cov = _insured(world, practice)
    first = session_on(world, practice, cid, svc, local(DAY, 9))
    second = session_on(world, practice, cid, svc, local(DAY, 11))
    auth = _add(world, practice, cid, cov)  # one visit, entered after both were completed
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 0
    world.clock.now = local(DAY, 20)
    reasons = _reasons(world, practice)  # the listing counts them, writes nothing
    assert "authorization_used_up" not in reasons[first["id"]]
    assert "authorization_used_up" in reasons[second["id"]]
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 0
    fire(world, practice.id, local(DAY, 23))  # the run records the missing uses, oldest first
    drain(world)
    assert _uses(world, practice, first, second) == [(auth["id"], 1), (auth["id"], 2)]
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 2
    # A retried completion, the next night's listing and run: nothing moves, the same answer.
    end = (local(DAY, 9) + timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"actual_start": local(DAY, 9).strftime("%Y-%m-%dT%H:%M:%SZ"), "actual_end": end}
    status, out = world.staff("POST", f"/sessions/{first['id']}/complete", body, practice_id=practice.id)
    assert status == 200, out
    world.clock.now = local("2026-11-21", 20)
    reasons = _reasons(world, practice)
    assert "authorization_used_up" not in reasons[first["id"]]
    assert "authorization_used_up" in reasons[second["id"]]
    fire(world, practice.id, local("2026-11-21", 23))
    drain(world)
    assert _one(world, practice, cid, cov, auth["id"])["used"] == 2


def test_uses_of_a_removed_authorization_move_to_its_replacement_once(world: World) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice, price=PRICE)
    cid, cov = _insured(world, practice)
    wrong = _add(world, practice, cid, cov)  # one visit: entered in error
    first = session_on(world, practice, cid, svc, local(DAY, 9))
    second = session_on(world, practice, cid, svc, local(DAY, 11))
    assert _uses(world, practice, first, second) == [(wrong["id"], 1), (wrong["id"], 2)]
    old_use = AuthorizationStore(world.container.table).usage(practice.id, first["id"])
    status, _ = world.staff("DELETE", _path(cid, cov, wrong["id"]), practice_id=practice.id)
    assert status == 204
    right = _add(world, practice, cid, cov, authorized=2)
    world.clock.now = local(DAY, 20)
    reasons = _reasons(world, practice)  # the removed one's uses are none: both fit the new one
    assert not {r for s in (first, second) for r in reasons[s["id"]] if r.startswith("authorization")}
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert _uses(world, practice, first, second) == [(right["id"], 1), (right["id"], 2)]
    assert _one(world, practice, cid, cov, right["id"])["used"] == 2
    assert _one(world, practice, cid, cov, wrong["id"])["used"] == 0  # given back as they moved
    # A second move of the same use (a concurrent run) finds it moved: nothing counted twice.
    store = AuthorizationStore(world.container.table)
    current = store.get(practice.id, cid, right["id"])
    assert old_use is not None
    again = store.record_use(
        practice.id,
        current,
        session_id=first["id"],
        amount=1,
        service_date=date(2026, 11, 20),
        replacing=old_use,
    )
    assert (again.authorization_id, again.through) == (right["id"], 1)
    world.clock.now = local("2026-11-21", 20)
    reasons = _reasons(world, practice)
    assert not {r for s in (first, second) for r in reasons[s["id"]] if r.startswith("authorization")}
    assert _one(world, practice, cid, cov, right["id"])["used"] == 2
    assert _one(world, practice, cid, cov, wrong["id"])["used"] == 0


def test_adding_again_with_the_same_key_answers_the_one_it_made(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    cid, cov = _insured(world, practice)
    answers = [
        world.staff(
            "POST", _path(cid, cov), AUTH, practice_id=practice.id, headers=_key("retry-after-timeout")
        )
        for _ in range(2)
    ]
    assert [status for status, _ in answers] == [201, 201], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    status, listed = world.staff("GET", _path(cid, cov), practice_id=practice.id)
    assert status == 200 and [a["id"] for a in listed] == [answers[0][1]["id"]]  # one, not two
    # The same key with another body: refused, nothing written.
    status, out = world.staff(
        "POST",
        _path(cid, cov),
        {**AUTH, "authorized": 7},
        practice_id=practice.id,
        headers=_key("retry-after-timeout"),
    )
    assert status == 409 and out["details"]["authorization_id"] == answers[0][1]["id"], out
    # No key: the header is required (a 400 naming it).
    status, out = world.staff("POST", _path(cid, cov), AUTH, practice_id=practice.id)
    assert status == 400 and "idempotency-key" in json.dumps(out).lower(), out
    status, listed = world.staff("GET", _path(cid, cov), practice_id=practice.id)
    assert len(listed) == 1
    # Two tries racing past the read: the put-if-absent answers the stored one to the second.
    store = AuthorizationStore(world.container.table)
    made = store.get(practice.id, cid, answers[0][1]["id"])
    assert store.create(practice.id, made.model_copy(update={"authorized": 9})).authorized == 1


def test_a_booking_counts_the_booked_sessions_in_units_where_the_authorization_counts_units(
    world: World,
) -> None:
    practice = scenario.create_practice(world)
    svc = service(world, practice, price=PRICE)  # 50 minutes: 3 units by the 8-minute rule
    clinicians(world, practice.id)
    cid, cov = _insured(world, practice)
    _add(world, practice, cid, cov, counted="units", authorized=6)
    world.clock.now = local("2026-11-01", 9)
    warnings = []
    for day in ("2026-11-10", "2026-11-17", "2026-11-24"):
        status, booked = _book(world, practice, cid, svc, day)
        assert status == 201, booked
        warnings.append((booked["authorization_warning"] or {}).get("code"))
    assert warnings == [None, None, "authorization_used_up"]  # 3 + 3 of 6, then nothing left
