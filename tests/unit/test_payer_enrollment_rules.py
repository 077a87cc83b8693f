"""The enrollment's rules, pure: what a request to enroll does given the item as it is (the
exactly-once state machine), when an enrollment is refused, and what staff see per kind."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from therabill.clearinghouse.port import (
    EnrolledTransaction,
    Enrollment,
    EnrollmentStatus,
    PayerListing,
    TransactionSupport,
)
from therabill.payers.models import PayerEnrollment, Refusal, Step, plan, refusal, views

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
T = EnrolledTransaction
S = TransactionSupport
LISTING = PayerListing(
    id="PRAIR",
    payer_id="00621",
    name="Prairie Blue Cross Blue Shield",
    transactions=(
        (T.ELIGIBILITY, S.SUPPORTED),
        (T.CLAIMS, S.ENROLLMENT_REQUIRED),
        (T.CLAIM_STATUS, S.NOT_SUPPORTED),
        (T.REMITTANCE, S.ENROLLMENT_REQUIRED),
    ),
)


def draft() -> PayerEnrollment:
    return PayerEnrollment.draft("PRAIR", T.CLAIMS, by="stf_a", now=NOW)


def sent(status: EnrollmentStatus) -> PayerEnrollment:
    return draft().with_clearinghouse(Enrollment("enr-1", status, "PRAIR", T.CLAIMS), NOW)


def test_nothing_yet_creates_the_draft_claimed_for_a_minute() -> None:
    assert plan(None, NOW) is Step.CREATE
    new = draft()
    assert (new.status, new.version, new.clearinghouse_id) == (EnrollmentStatus.DRAFT, 1, None)
    assert new.claimed_until == NOW + timedelta(seconds=60)


def test_a_draft_being_sent_is_busy_until_its_claim_runs_out_then_resumed() -> None:
    assert plan(draft(), NOW + timedelta(seconds=59)) is Step.BUSY
    assert plan(draft(), NOW + timedelta(seconds=60)) is Step.RESUME  # the claim is over
    assert plan(draft().released(NOW), NOW) is Step.RESUME  # let go: the clearinghouse was down


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (EnrollmentStatus.SUBMITTED, Step.DONE),
        (EnrollmentStatus.PROVISIONING, Step.DONE),
        (EnrollmentStatus.ACTION_REQUIRED, Step.DONE),
        (EnrollmentStatus.LIVE, Step.DONE),
        (EnrollmentStatus.REJECTED, Step.RESTART),
        (EnrollmentStatus.CANCELED, Step.RESTART),
    ],
)
def test_once_the_clearinghouse_has_it_only_an_ended_one_starts_again(
    status: EnrollmentStatus, step: Step
) -> None:
    assert plan(sent(status), NOW) is step


def test_recording_the_answer_and_restarting_move_the_version_on() -> None:
    answered = draft().with_clearinghouse(
        Enrollment("enr-1", EnrollmentStatus.REJECTED, "PRAIR", T.CLAIMS, "no such NPI"), NOW
    )
    assert (answered.clearinghouse_id, answered.message, answered.version) == ("enr-1", "no such NPI", 2)
    assert answered.claimed_until is None and not answered.pending
    again = answered.restarted(by="stf_b", now=NOW + timedelta(days=1))
    assert (again.version, again.clearinghouse_id, again.message, again.requested_by) == (
        3,
        None,
        None,
        "stf_b",
    )
    assert sent(EnrollmentStatus.PROVISIONING).pending and not sent(EnrollmentStatus.LIVE).pending


def test_refusals_before_anything_is_written() -> None:
    assert refusal(LISTING, T.ELIGIBILITY, has_provider=True) is Refusal.NOT_REQUIRED
    assert refusal(LISTING, T.CLAIM_STATUS, has_provider=True) is Refusal.NOT_SUPPORTED
    assert refusal(LISTING, T.CLAIMS, has_provider=False) is Refusal.NO_BILLING_PROVIDER
    assert refusal(LISTING, T.CLAIMS, has_provider=True) is None
    # A kind the listing does not name is one the payer does not take.
    assert refusal(replace(LISTING, transactions=()), T.CLAIMS, has_provider=True) is Refusal.NOT_SUPPORTED


def test_what_staff_see_per_kind() -> None:
    shown = views(LISTING, [sent(EnrollmentStatus.PROVISIONING)])
    assert [(v.transaction.value, v.status) for v in shown] == [
        ("eligibility", "not_required"),
        ("claims", "provisioning"),
        ("claim_status", "not_supported"),
        ("remittance", "not_started"),
    ]
