"""The coverage routes: add, list, read, change, end and remove a client's policies; strict input
refused in words (never echoing the value); the caller's practice only; who may write; and an
audit record for every read and change."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_audit_trail import call, records

MEMBER_ID = "QWE12345678"
CHILD = {
    "relationship": "child",
    "subscriber": {
        "first_name": "Ada",
        "last_name": "Okafor",
        "birth_date": "1961-02-03",
        "sex": "F",
        "address": {"line1": "12 Elm St", "city": "Albany", "state": "ny", "zip": "12207"},
    },
}


@pytest.fixture
def client(world: World) -> tuple[scenario.Practice, str]:
    practice = scenario.create_practice(world, connect=False)
    c = scenario.create_client(world, practice, billing_type="insurance")
    return practice, str(c["id"])


def _path(client_id: str, coverage_id: str = "") -> str:
    return f"/clients/{client_id}/coverage" + (f"/{coverage_id}" if coverage_id else "")


def test_add_list_read_change_end_and_remove(world: World, client: tuple[scenario.Practice, str]) -> None:
    practice, cid = client
    body = {
        **scenario.COVERAGE,
        "member_id": MEMBER_ID,
        "payer": {"id": "sx 123".replace(" ", ""), "name": "Blue Shield"},
        "effective_date": "2026-01-01",
        "copay_override": 2_500,
        "coinsurance_override": 20,
        "patient_birth_date": "2015-06-01",
        "patient_sex": "M",
        **CHILD,
    }
    status, added = world.staff("POST", _path(cid), body, practice_id=practice.id)
    assert status == 201, added
    assert added["payer"] == {"id": "SX123", "name": "Blue Shield"}  # the id upper case
    assert added["subscriber"]["address"]["state"] == "NY"
    assert (added["copay_amount"], added["copay_override"], added["copay_found"]) == (2_500, 2_500, None)
    assert (added["coinsurance_percent"], added["forbids_cancellation_fees"]) == (20, False)
    assert (added["status"], added["version"], added["end_date"]) == ("active", 1, None)

    status, listed = world.staff("GET", _path(cid), practice_id=practice.id)
    assert status == 200 and [c["id"] for c in listed] == [added["id"]]
    status, one = world.staff("GET", _path(cid, added["id"]), practice_id=practice.id)
    assert status == 200 and one == added

    status, changed = world.staff(
        "PATCH",
        _path(cid, added["id"]),
        {"end_date": "2026-12-31", "copay_override": None, "expected_version": 1},
        practice_id=practice.id,
    )
    assert status == 200, changed
    assert (changed["end_date"], changed["copay_amount"], changed["version"]) == ("2026-12-31", None, 2)
    status, stale = world.staff(
        "PATCH", _path(cid, added["id"]), {"plan_name": "PPO", "expected_version": 1}, practice_id=practice.id
    )
    assert status == 409, stale

    status, _ = world.staff("DELETE", _path(cid, added["id"]), practice_id=practice.id)
    assert status == 204
    status, listed = world.staff("GET", _path(cid), practice_id=practice.id)
    assert [c["status"] for c in listed] == ["removed"]
    # Removed, it no longer blocks a new primary over the same days.
    status, again = world.staff("POST", _path(cid), scenario.COVERAGE, practice_id=practice.id)
    assert status == 201, again


def test_rules_between_fields(world: World, client: tuple[scenario.Practice, str]) -> None:
    practice, cid = client
    base = scenario.COVERAGE
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "relationship": "spouse"}, 400, "subscriber"),
        ({**base, **CHILD, "relationship": "self"}, 400, "subscriber"),
        ({**base, "effective_date": "2026-05-01", "end_date": "2026-04-30"}, 400, "end_date"),
    ]
    for body, expected, field in cases:
        status, out = world.staff("POST", _path(cid), body, practice_id=practice.id)
        assert status == expected and field in json.dumps(out), (body, out)
    status, first = world.staff(
        "POST", _path(cid), {**base, "end_date": "2026-06-30"}, practice_id=practice.id
    )
    assert status == 201
    status, clash = world.staff(
        "POST", _path(cid), {**base, "effective_date": "2026-06-30"}, practice_id=practice.id
    )
    assert status == 409 and clash["details"]["coverage_id"] == first["id"], clash
    status, _ = world.staff(
        "POST", _path(cid), {**base, "effective_date": "2026-07-01"}, practice_id=practice.id
    )
    assert status == 201  # the day after the first ends
    status, _ = world.staff("POST", _path(cid), {**base, "rank": "secondary"}, practice_id=practice.id)
    assert status == 201  # a secondary alongside


BAD: list[tuple[dict[str, Any], str]] = [
    ({"copay_override": 12.5}, "copay_override"),
    ({"copay_override": "25"}, "copay_override"),
    ({"copay_override": -1}, "copay_override"),
    ({"coinsurance_override": 101}, "coinsurance_override"),
    ({"coinsurance_override": True}, "coinsurance_override"),
    ({"forbids_cancellation_fees_override": "yes"}, "forbids_cancellation_fees_override"),
    ({"rank": "tertiary"}, "rank"),
    ({"relationship": "cousin"}, "relationship"),
    ({"patient_sex": "X"}, "patient_sex"),
    ({"effective_date": "2026-13-01"}, "effective_date"),
    ({"effective_date": 20260101}, "effective_date"),
    ({"patient_birth_date": "2999-01-01"}, "patient_birth_date"),
    ({"payer": {"id": "AB-12!", "name": "X"}}, "payer"),
    ({"payer": {"id": "A", "name": "X"}}, "payer"),
    ({"payer": {"name": "X"}}, "payer"),
    ({"member_id": "Z"}, "member_id"),
    ({"member_id": "ZQ 123<script>"}, "member_id"),
    ({"group_number": "G" * 51}, "group_number"),
    ({"unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_bad_input_is_refused_in_words_without_echoing_it(
    world: World, client: tuple[scenario.Practice, str], change: dict[str, Any], field: str
) -> None:
    practice, cid = client
    status, out = world.staff("POST", _path(cid), {**scenario.COVERAGE, **change}, practice_id=practice.id)
    assert status == 400 and out["code"] == "invalid_request", out
    assert field in json.dumps(out["details"]), out
    for value in change.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in json.dumps(out), out
    status, listed = world.staff("GET", _path(cid), practice_id=practice.id)
    assert listed == []  # nothing written


def test_another_practice_sees_nothing(world: World, client: tuple[scenario.Practice, str]) -> None:
    practice, cid = client
    added = scenario.add_coverage(world, practice, cid)
    other = scenario.create_practice(world, connect=False)
    for method, path, body in (
        ("GET", _path(cid), None),
        ("POST", _path(cid), scenario.COVERAGE),
        ("GET", _path(cid, added["id"]), None),
        ("PATCH", _path(cid, added["id"]), {"plan_name": "PPO"}),
        ("DELETE", _path(cid, added["id"]), None),
    ):
        status, out = world.staff(method, path, body, practice_id=other.id)
        assert status == 404, (method, path, out)
    status, one = world.staff("GET", _path(cid, added["id"]), practice_id=practice.id)
    assert status == 200 and one["version"] == 1 and one["status"] == "active"


@pytest.mark.parametrize(
    ("role", "may_write"), [("owner", True), ("biller", True), ("front_desk", True), ("clinician", False)]
)
def test_who_may_write_and_everyone_may_read(
    world: World, client: tuple[scenario.Practice, str], role: str, may_write: bool
) -> None:
    practice, cid = client
    status, out = world.staff("POST", _path(cid), scenario.COVERAGE, practice_id=practice.id, role=role)
    assert status == (201 if may_write else 403), out
    status, _ = world.staff("GET", _path(cid), practice_id=practice.id, role=role)
    assert status == 200


def test_reads_and_changes_leave_audit_records_without_what_coverage_holds(
    world: World, client: tuple[scenario.Practice, str]
) -> None:
    practice, cid = client
    status, added = call(
        world,
        "POST",
        _path(cid),
        {**scenario.COVERAGE, "member_id": MEMBER_ID, **CHILD},
        practice_id=practice.id,
    )
    assert status == 201
    assert len(records(world, practice.id, "coverage.change")) == 1
    call(world, "GET", _path(cid), practice_id=practice.id, role="clinician")
    call(world, "GET", _path(cid, added["id"]), practice_id=practice.id)
    reads = records(world, practice.id, "coverage.read")
    assert len(reads) == 2
    assert {r["coverage_id"]["S"] for r in reads} == {added["id"]} and {
        r["client_id"]["S"] for r in reads
    } == {cid}
    call(world, "PATCH", _path(cid, added["id"]), {"group_number": "G-2"}, practice_id=practice.id)
    call(world, "DELETE", _path(cid, added["id"]), practice_id=practice.id)
    call(world, "DELETE", _path(cid, added["id"]), practice_id=practice.id)  # already removed: nothing new
    assert len(records(world, practice.id, "coverage.change")) == 3
    status, trail = call(world, "GET", "/audit", practice_id=practice.id, query={"client_id": cid})
    assert status == 200 and {i["action"] for i in trail["items"]} >= {"coverage.read", "coverage.change"}
    stored = json.dumps(records(world, practice.id))
    for secret in (MEMBER_ID, "1961-02-03", "Okafor", "12 Elm St", "Aetna"):
        assert secret not in stored, secret
    # A refused change records nothing.
    status, _ = call(world, "PATCH", _path(cid, added["id"]), {"rank": "x"}, practice_id=practice.id)
    assert status == 400 and len(records(world, practice.id, "coverage.change")) == 3


def test_the_client_api_sends_the_old_insurance_fields_to_coverage(world: World) -> None:
    practice = scenario.create_practice(world, connect=False)
    for body in (
        {"first_name": "A", "last_name": "B", "copay_amount": 2_500},
        {"first_name": "A", "last_name": "B", "payer_forbids_fees": True},
    ):
        status, out = world.staff("POST", "/clients", body, practice_id=practice.id)
        assert status == 400 and "/coverage" in json.dumps(out), out
    c = scenario.create_client(world, practice)
    assert c["billing_type"] == "self_pay" and "copay_amount" not in c
    status, out = world.staff("PATCH", f"/clients/{c['id']}", {"copay_amount": None}, practice_id=practice.id)
    assert status == 400 and "copay_override" in json.dumps(out), out
    status, out = world.staff(
        "PATCH", f"/clients/{c['id']}", {"billing_type": "insured"}, practice_id=practice.id
    )
    assert status == 400, out
    status, out = world.staff(
        "PATCH", f"/clients/{c['id']}", {"billing_type": "not_billed"}, practice_id=practice.id
    )
    assert status == 200 and out["billing_type"] == "not_billed", out
