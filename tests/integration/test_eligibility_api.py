"""The eligibility routes through the real staff handler: ask (201, then 200 for today's check,
201 again when forced), read (every role), who may ask, the caller's practice only, strict input
refused with nothing written or sent, the reason when no check can be made, the clearinghouse
down (503, then the same request works), and audit records and logs holding no health
information."""

from __future__ import annotations

import json
import logging

import pytest

from tests.integration.conftest import World
from tests.integration.eligibility_support import (
    ACTIVE,
    BIRTH_DATE,
    NOT_FOUND,
    Insured,
    eligibility_calls,
    insured,
    with_clearinghouse,
)
from tests.integration.scenario import create_practice
from tests.integration.test_audit_trail import records


def _path(s: Insured) -> str:
    return f"/clients/{s.client_id}/coverage/{s.coverage_id}/eligibility"


def test_front_desk_asks_the_payer_and_every_role_reads_the_checks(world: World) -> None:
    fake = with_clearinghouse(world)
    s = insured(world, copay_override=3_000)
    status, made = world.staff("POST", _path(s), {}, practice_id=s.practice.id, role="front_desk")
    assert status == 201, made
    assert (made["repeated"], made["check"]["status"], made["check"]["copay_found"]) == (
        False,
        "active",
        2_500,
    )
    assert made["coverage"] == {"copay_found": 2_500, "copay_override": 3_000, "copay_amount": 3_000}
    mh = next(x for x in made["check"]["services"] if x["service_type"] == "MH")
    assert mh["copays"] == [{"network": "in", "amount": 2_500}] and mh["name"] == "Mental Health"
    check_id = made["check"]["id"]

    status, again = world.staff("POST", _path(s), {}, practice_id=s.practice.id, role="biller")
    assert (status, again["repeated"], again["check"]["id"]) == (200, True, check_id)
    status, forced = world.staff("POST", _path(s), {"force": True}, practice_id=s.practice.id)
    assert status == 201 and forced["check"]["id"] != check_id
    assert eligibility_calls(fake) == 2

    status, _ = world.staff("POST", _path(s), {"force": True}, practice_id=s.practice.id, role="clinician")
    assert status == 403
    status, listed = world.staff("GET", _path(s), practice_id=s.practice.id, role="clinician")
    assert status == 200 and [c["id"] for c in listed] == [forced["check"]["id"], check_id]
    status, of_client = world.staff("GET", f"/clients/{s.client_id}/eligibility", practice_id=s.practice.id)
    assert status == 200 and len(of_client) == 2
    status, one = world.staff(
        "GET", f"/clients/{s.client_id}/eligibility/{check_id}", practice_id=s.practice.id, role="front_desk"
    )
    assert status == 200 and one == made["check"]
    assert eligibility_calls(fake) == 2  # reads ask nobody

    checked = records(world, s.practice.id, "eligibility.check")
    assert len(checked) == 2 and {r["coverage_id"]["S"] for r in checked} == {s.coverage_id}
    assert len(records(world, s.practice.id, "eligibility.read")) == 1 + 2 + 2 + 1  # repeated, lists, one
    stored = json.dumps(records(world, s.practice.id))
    for secret in (ACTIVE, BIRTH_DATE, "SANDBOX PPO"):
        assert secret not in stored, secret


def test_another_practice_sees_and_checks_nothing_of_this_one(world: World) -> None:
    fake = with_clearinghouse(world)
    s = insured(world)
    other = create_practice(world, connect=False)
    status, _ = world.staff("POST", _path(s), {}, practice_id=other.id)
    assert status == 404
    status, _ = world.staff("GET", _path(s), practice_id=other.id)
    assert status == 404
    status, made = world.staff("POST", _path(s), {}, practice_id=s.practice.id)
    assert status == 201
    status, _ = world.staff(
        "GET", f"/clients/{s.client_id}/eligibility/{made['check']['id']}", practice_id=other.id
    )
    assert status == 404
    assert eligibility_calls(fake) == 1


def test_bad_input_is_refused_by_field_and_nothing_is_asked_or_kept(world: World) -> None:
    fake = with_clearinghouse(world)
    s = insured(world)
    for body, field in (
        ({"date": "2026-13-01"}, "date"),
        ({"force": "maybe"}, "force"),
        ({"member_id": "X"}, "member_id"),
    ):
        status, refused = world.staff("POST", _path(s), body, practice_id=s.practice.id)
        assert status == 400, refused
        assert field in json.dumps(refused["details"]), field
    assert eligibility_calls(fake) == 0
    assert world.staff("GET", _path(s), practice_id=s.practice.id) == (200, [])
    status, _ = world.staff(
        "GET", f"/clients/{s.client_id}/eligibility/elg_nosuchcheck", practice_id=s.practice.id
    )
    assert status == 404


def test_no_billing_provider_is_a_409_with_the_reason(world: World) -> None:
    fake = with_clearinghouse(world)
    s = insured(world, provider=False)
    status, refused = world.staff("POST", _path(s), {}, practice_id=s.practice.id)
    assert status == 409
    assert refused["message"] == "insurance set-up not complete: add the billing provider"
    assert eligibility_calls(fake) == 0


def test_a_clearinghouse_that_is_down_is_a_503_and_the_same_request_then_works(
    world: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="therabill")
    fake = with_clearinghouse(world)
    s = insured(world, member_id=NOT_FOUND)
    fake.fail_next(1, "503")
    status, down = world.staff("POST", _path(s), {}, practice_id=s.practice.id)
    assert status == 503, down
    status, made = world.staff("POST", _path(s), {}, practice_id=s.practice.id)
    assert status == 201 and made["check"]["status"] == "rejected"
    [reason] = made["check"]["rejections"]
    assert (reason["code"], reason["about"], reason["reason"]) == ("75", "subscriber", "Subscriber not found")
    assert reason["next_step"].startswith("Check member id, name and date of birth")
    assert made["coverage"]["copay_found"] is None
    captured = capsys.readouterr()
    logged = captured.out + captured.err + "\n".join(r.getMessage() for r in caplog.records)
    assert '"level"' in captured.out or caplog.records  # the logs were captured to look through
    for secret in (NOT_FOUND, BIRTH_DATE, "19840309", "Client*Ann"):
        assert secret not in logged, secret
        assert secret not in json.dumps(down), secret
