"""Eligibility checks through the service the routes and the schedules use, against moto and the
Stedi adapter over the Stedi fake (the sandbox payer's test members): the 271 read and stored, its
raw copy in S3, the copay found on the coverage, one check a day unless forced, and faults that
lose nothing and call the payer once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.conftest import World
from tests.integration.eligibility_support import (
    PAYER_DOWN,
    eligibility_calls,
    insured,
    with_clearinghouse,
)
from therabill.clearinghouse.errors import ClearinghouseUnavailableError
from therabill.core.errors import DependencyUnavailableError
from therabill.eligibility.errors import EligibilityInFlightError


def _raw_271(world: World, key: str) -> bytes:
    s3 = world.session.client("s3")
    return bytes(s3.get_object(Bucket=world.resources.documents_bucket, Key=key)["Body"].read())


def test_an_active_coverage_with_a_copay_is_stored_and_its_copay_found_goes_to_the_coverage(
    world: World,
) -> None:
    fake = with_clearinghouse(world)
    subscriber = {"first_name": "Ada", "last_name": "Okafor", "birth_date": "1961-02-03", "sex": "F"}
    subject = insured(world, copay_override=3_000, relationship="child", subscriber=subscriber)
    service = world.container.eligibility
    outcome = service.check(subject.practice.id, subject.client_id, subject.coverage_id, requested_by="stf_1")
    # The 270: the subscriber (with the member id) in 2100C, the client (the patient) in 2100D.
    sent = next(r.body for r in fake.requests if "eligibility" in r.url).decode()
    assert "NM1*IL*1*Okafor*Ada****MI*TB-ACTIVE-25" in sent and "HL*4*3*23*0" in sent
    assert "NM1*03*1*Client*Ann" in sent and "DMG*D8*19840309" in sent
    made = outcome.check
    assert (made.status, outcome.repeated, made.plan_name, made.network) == (
        "active",
        False,
        "SANDBOX PPO",
        "in_network",
    )
    assert made.copay_found == 2_500  # EB*B ... 27*25 ... Y: $25 in network
    by_code = {s.service_type: s for s in made.services}
    # The billing provider is a group practice (193400000X): every discipline's first codes.
    assert list(by_code) == ["30", "MH", "A6", "AD", "PT", "AE", "AF"]
    assert [(c.network, c.amount) for c in by_code["MH"].copays] == [("in", 2_500)]
    assert by_code["30"].active is True and made.plan_begin is not None
    assert made.plan_begin.month == 1 and made.plan_begin.day == 1  # DTP*346 is 1 January
    coverage = world.container.coverage.get(subject.practice.id, subject.client_id, subject.coverage_id)
    assert (coverage.copay_found, coverage.copay_override, coverage.copay_amount) == (2_500, 3_000, 3_000)
    assert _raw_271(world, made.document_key).startswith(b"ISA")
    assert made.document_key == f"eligibility/{subject.practice.id}/{subject.client_id}/{made.id}.x12"
    assert service.get(subject.practice.id, subject.client_id, made.id) == made
    assert eligibility_calls(fake) == 1

    # A deductible not met: $1,500 for the year, $1,200 of it left; 20% coinsurance for MH.
    met = insured(world, member_id="TB-DEDUCTIBLE")
    deductible = service.check(met.practice.id, met.client_id, met.coverage_id).check
    mh = next(s for s in deductible.services if s.service_type == "MH")
    assert [(a.level, a.network, a.total, a.remaining) for a in mh.deductibles] == [
        ("individual", "in", 150_000, 120_000)
    ]
    assert [(c.network, c.percent) for c in mh.coinsurance] == [("in", "20")]
    assert deductible.copay_found is None
    coverage = world.container.coverage.get(met.practice.id, met.client_id, met.coverage_id)
    assert (coverage.coinsurance_found, coverage.copay_found) == (20, None)


def test_the_same_client_payer_and_date_is_checked_once_a_day_unless_forced(world: World) -> None:
    fake = with_clearinghouse(world)
    subject = insured(world)
    service = world.container.eligibility
    ids = (subject.practice.id, subject.client_id, subject.coverage_id)
    first = service.check(*ids)
    again = service.check(*ids)
    assert (again.repeated, again.check) == (True, first.check)
    assert eligibility_calls(fake) == 1
    forced = service.check(*ids, force=True)
    assert not forced.repeated and forced.check.id != first.check.id
    assert eligibility_calls(fake) == 2
    other_day = service.check(*ids, date_of_service=first.check.date_of_service + timedelta(days=1))
    assert not other_day.repeated and eligibility_calls(fake) == 3
    listed = service.checks_of(subject.practice.id, subject.client_id, subject.coverage_id)
    assert [c.id for c in listed] == [other_day.check.id, forced.check.id, first.check.id]  # newest first
    world.clock.now += timedelta(days=1)  # the next day: checked again
    assert not service.check(*ids, date_of_service=first.check.date_of_service).repeated


def test_a_clearinghouse_or_a_payer_that_is_down_loses_nothing_and_the_check_is_made_again(
    world: World,
) -> None:
    fake = with_clearinghouse(world)
    subject = insured(world)
    service = world.container.eligibility
    ids = (subject.practice.id, subject.client_id, subject.coverage_id)
    fake.fail_next(1, "503")
    with pytest.raises(ClearinghouseUnavailableError):
        service.check(*ids)
    assert service.checks_of(subject.practice.id, subject.client_id) == []
    made = service.check(*ids)  # at once: the failed attempt left the day free
    assert made.check.status == "active" and not made.repeated
    assert eligibility_calls(fake) == 2

    # A payer that cannot answer now (AAA 42): the answer is kept, and the next request asks again.
    down = insured(world, member_id=PAYER_DOWN)
    ids = (down.practice.id, down.client_id, down.coverage_id)
    first = service.check(*ids).check
    assert (first.status, first.retry_later, [r.code for r in first.rejections]) == ("rejected", True, ["42"])
    assert not service.check(*ids).repeated and eligibility_calls(fake) == 4


def test_a_crash_after_the_payer_answered_is_finished_from_the_kept_271_without_a_second_call(
    world: World,
) -> None:
    # The check's own put fails: the function dies between the kept 271 and the stored check.
    dies_at = ["put_item"]
    fake = with_clearinghouse(world, after_answer=lambda: world.dynamo.fail(dies_at[0]))
    subject = insured(world)
    service = world.container.eligibility
    ids = (subject.practice.id, subject.client_id, subject.coverage_id)
    with pytest.raises(DependencyUnavailableError):
        service.check(*ids)
    assert service.checks_of(subject.practice.id, subject.client_id) == []
    with pytest.raises(EligibilityInFlightError):  # within the lease: maybe still running
        service.check(*ids)
    world.clock.now += timedelta(seconds=61)
    made = service.check(*ids)
    assert made.check.status == "active" and not made.repeated
    assert eligibility_calls(fake) == 1  # the payer was asked once
    assert [c.id for c in service.checks_of(subject.practice.id, subject.client_id)] == [made.check.id]
    coverage = world.container.coverage.get(subject.practice.id, subject.client_id, subject.coverage_id)
    assert coverage.copay_found == 2_500
    assert service.check(*ids).repeated

    # Dead after the check was stored (the coverage's copay not yet written, the day not done):
    # the next attempt answers with the stored check and finishes the rest, asking nobody.
    dies_at[0] = "update_item"
    other = insured(world)
    ids = (other.practice.id, other.client_id, other.coverage_id)
    with pytest.raises(DependencyUnavailableError):
        service.check(*ids)
    [stored] = service.checks_of(other.practice.id, other.client_id)
    world.clock.now += timedelta(seconds=61)
    finished = service.check(*ids)
    assert (finished.check, finished.repeated, eligibility_calls(fake)) == (stored, False, 2)
    assert world.container.coverage.get(*ids).copay_found == 2_500
    assert service.check(*ids).repeated
