"""One suite for the `Clearinghouse` port, run against both implementations the product drives:
the Stedi adapter over the fake Stedi (in process, at the HTTP boundary) and the Stedi adapter
over the sandbox clearinghouse (the local system's server, over real HTTP on localhost).

Every 270 is built by the product's builder and every answer read by its readers, so the suite
shows the round trip: our 270 in, the sandbox payer's 271 out, read back into what staff see."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from devstack.sandbox_clearinghouse import SandboxStedi, make_server

from tests.fakes.fake_stedi import FakeStedi
from therabill.adapters.http_client import RetryingClient
from therabill.adapters.stedi import StediClearinghouse, StediEndpoints
from therabill.clearinghouse.errors import ClearinghouseNotFoundError, ClearinghouseRejectedError
from therabill.clearinghouse.port import (
    EnrolledTransaction,
    EnrollmentContact,
    EnrollmentRequest,
    EnrollmentStatus,
    TransactionSupport,
)
from therabill.x12.eligibility.benefits import CoverageStatus, Eligibility
from therabill.x12.eligibility.inquiry import EligibilityInquiry, Payer, Person, Provider, build_270
from therabill.x12.eligibility.response import read_271
from therabill.x12.reader import read
from therabill.x12.writer import (
    Envelope,
    Party,
    SequentialControlNumbers,
    Transaction,
    seg,
    write_interchange,
)

AT = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
ENVELOPE = Envelope(Party("ZZ", "THERABILLPRC1"), Party("ZZ", "STEDI"), "THERABILLPRC1", "STEDI", usage="T")


@dataclass
class Subject:
    clearinghouse: StediClearinghouse
    app: SandboxStedi


def _fake() -> Iterator[Subject]:
    fake = FakeStedi()
    client = RetryingClient(fake.transport, sleep=fake.sleep)
    yield Subject(StediClearinghouse(lambda: fake.api_key, client=client), fake.app)


def _sandbox() -> Iterator[Subject]:
    server, app = make_server("127.0.0.1", 0, api_key="sandbox_key")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        client = RetryingClient(timeout_seconds=5)
        yield Subject(
            StediClearinghouse(lambda: "sandbox_key", endpoints=StediEndpoints.at(base), client=client), app
        )
    finally:
        server.shutdown()
        server.server_close()


BACKENDS: dict[str, Callable[[], Iterator[Subject]]] = {"stedi+fake": _fake, "stedi+sandbox": _sandbox}


@pytest.fixture(params=sorted(BACKENDS))
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    yield from BACKENDS[request.param]()


def inquiry_270(member_id: str, trace: str = "TRACE-0001") -> bytes:
    inquiry = EligibilityInquiry(
        payer=Payer("SANDBOX HEALTH", "SBX01"),
        provider=Provider("1999999984", organization_name="CALM WATERS THERAPY"),
        subscriber=Person("DOE", "JANE", date(1988, 4, 12), member_id),
        date_of_service=date(2026, 12, 4),
        trace_number=trace,
        originator_id="1123456789",
        service_types=("30", "MH"),
    )
    return build_270(inquiry, envelope=ENVELOPE, created_at=AT, numbers=SequentialControlNumbers())


def eligibility(subject: Subject, member_id: str) -> Eligibility:
    return read_271(subject.clearinghouse.check_eligibility(inquiry_270(member_id))).only


def test_an_active_member_has_a_25_dollar_copay_for_therapy(subject: Subject) -> None:
    answer = eligibility(subject, "TB-ACTIVE-25")
    assert answer.status is CoverageStatus.ACTIVE
    assert answer.service("MH").copay() == 2500
    assert answer.service("A6").copay() == 2500
    assert answer.trace_numbers == ("TRACE-0001",)
    assert answer.payer_id == "SBX01"


def test_an_inactive_member(subject: Subject) -> None:
    assert eligibility(subject, "TB-INACTIVE").status is CoverageStatus.INACTIVE


def test_an_unknown_member_is_aaa_75(subject: Subject) -> None:
    answer = eligibility(subject, "NOBODY-123")
    assert answer.status is CoverageStatus.REJECTED
    assert [(r.loop, r.code, r.follow_up) for r in answer.rejections] == [("2100C", "75", "C")]


def test_a_deductible_not_met(subject: Subject) -> None:
    mental_health = eligibility(subject, "TB-DEDUCTIBLE").service_with_plan("MH")
    assert sorted((b.time_period, b.amount) for b in mental_health.deductibles) == [
        ("23", 150000),
        ("29", 120000),
    ]
    assert [b.percent for b in mental_health.coinsurance] == [20]


def test_a_visit_limit_reached(subject: Subject) -> None:
    limits = eligibility(subject, "TB-VISITS-USED").service("MH").limitations
    assert sorted((b.time_period, b.quantity_qualifier, b.quantity) for b in limits) == [
        ("23", "VS", 20),
        ("29", "VS", 0),
    ]


def test_a_payer_that_cannot_answer_says_retry_later(subject: Subject) -> None:
    answer = eligibility(subject, "TB-PAYER-DOWN")
    assert [r.code for r in answer.rejections] == ["42"]
    assert answer.rejections[0].retry_later


def test_a_malformed_270_is_rejected_with_the_999_and_its_reasons(subject: Subject) -> None:
    good = inquiry_270("TB-ACTIVE-25").decode()
    # NM1*IL without its member id: ST is segment 1, so the subscriber's NM1 is segment 9.
    malformed = good.replace("*MI*TB-ACTIVE-25~", "~")
    with pytest.raises(ClearinghouseRejectedError) as caught:
        subject.clearinghouse.check_eligibility(malformed.encode())
    error = caught.value
    assert error.acknowledgment is not None
    assert next(read(error.acknowledgment).transactions("999")).code == "999"
    assert ("IK3-8", "NM1 (segment 9 of the transaction set)") in [
        (r.code, r.location) for r in error.reasons
    ]
    assert ("IK4-1", "element 9 of NM1 (segment 9 of the transaction set)") in [
        (r.code, r.location) for r in error.reasons
    ]
    assert "IK5-5" in [r.code for r in error.reasons]
    assert "DOE" not in str(error) and "JANE" not in str(error) and "DOE" not in repr(error.details)


def claim_batch(claim_id: str) -> bytes:
    body = (
        seg("BHT", "0019", "00", claim_id, "20261204", "1530", "CH"),
        seg("NM1", "41", "2", "CALM WATERS THERAPY", "", "", "", "", "46", "THERABILLPRC1"),
    )
    envelope = Envelope(
        Party("ZZ", "THERABILLPRC1"), Party("ZZ", "STEDI"), "THERABILLPRC1", "STEDI", usage="T"
    )
    transaction = Transaction("837", "005010X222A1", body)
    return write_interchange(envelope, [transaction], created_at=AT, numbers=SequentialControlNumbers())


def test_a_claim_batch_is_submitted_once_per_idempotency_key(subject: Subject) -> None:
    first = subject.clearinghouse.submit_claims(claim_batch("CLM1"), idempotency_key="batch-1")
    again = subject.clearinghouse.submit_claims(claim_batch("CLM1"), idempotency_key="batch-1")
    other = subject.clearinghouse.submit_claims(claim_batch("CLM2"), idempotency_key="batch-2")
    assert first.submission_id and first.submission_id == again.submission_id
    assert other.submission_id != first.submission_id
    assert len(subject.app.documents) == 2  # one acknowledgment per batch, not per request


def test_an_idempotency_key_reused_for_another_batch_is_refused(subject: Subject) -> None:
    subject.clearinghouse.submit_claims(claim_batch("CLM1"), idempotency_key="batch-1")
    with pytest.raises(ClearinghouseRejectedError) as caught:
        subject.clearinghouse.submit_claims(claim_batch("CLM9"), idempotency_key="batch-1")
    assert [r.code for r in caught.value.reasons] == ["idempotency_key_reused"]


def test_something_that_is_not_an_837_is_refused_with_the_reason(subject: Subject) -> None:
    with pytest.raises(ClearinghouseRejectedError) as caught:
        subject.clearinghouse.submit_claims(inquiry_270("TB-ACTIVE-25"), idempotency_key="batch-x")
    assert caught.value.status == 400
    assert [r.code for r in caught.value.reasons] == ["33"]


def test_inbound_documents_are_listed_since_a_time_and_fetched(subject: Subject) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    earlier = subject.app.deliver("835", b"ISA*old~", at=since - timedelta(minutes=1))
    subject.clearinghouse.submit_claims(claim_batch("CLM1"), idempotency_key="batch-1")
    documents = subject.clearinghouse.inbound(since)
    assert [d.transaction_set for d in documents] == ["999"]
    assert earlier not in [d.id for d in documents]
    acknowledgment = read(subject.clearinghouse.fetch(documents[0].id))
    ak9 = next(s for s in acknowledgment.segments if s.id == "AK9")
    assert ak9.get(1) == "A"


def contact() -> EnrollmentContact:
    return EnrollmentContact(
        email="billing@calmwaters.example",
        phone="5551234567",
        street="1 Main St",
        city="Springfield",
        state="IL",
        zip_code="62701",
        organization_name="Calm Waters Therapy",
    )


def enrollment_request(payer_id: str) -> EnrollmentRequest:
    return EnrollmentRequest(
        payer_id=payer_id,
        transaction=EnrolledTransaction.ELIGIBILITY,
        provider_name="Calm Waters Therapy",
        provider_npi="1999999984",
        provider_tax_id="123456789",
        contact=contact(),
        notify_email="billing@calmwaters.example",
    )


def test_an_enrollment_moves_from_submitted_to_live(subject: Subject) -> None:
    created = subject.clearinghouse.enroll(enrollment_request("SBX01"))
    assert (created.status, created.payer_id, created.transaction) == (
        EnrollmentStatus.SUBMITTED,
        "SBX01",
        EnrolledTransaction.ELIGIBILITY,
    )
    seen = [subject.clearinghouse.enrollment(created.id).status for _ in range(2)]
    assert seen == [EnrollmentStatus.PROVISIONING, EnrollmentStatus.LIVE]
    again = subject.clearinghouse.enroll(enrollment_request("SBX02"))
    assert len(subject.app.providers) == 1  # the provider record is reused for the same NPI
    assert again.id != created.id


def test_a_rejected_enrollment_carries_the_clearinghouse_message(subject: Subject) -> None:
    created = subject.clearinghouse.enroll(enrollment_request("SBX-REJECT"))
    subject.clearinghouse.enrollment(created.id)
    rejected = subject.clearinghouse.enrollment(created.id)
    assert rejected.status is EnrollmentStatus.REJECTED
    assert rejected.message == "The payer has no record of this NPI with this tax id."


def test_the_payer_directory_is_searched_by_name_in_any_case_and_by_alias(subject: Subject) -> None:
    search = subject.clearinghouse.payers
    assert [p.id for p in search("health")] == ["SBXHP", "HRBOR", "CEDAR"]
    assert [p.id for p in search("BLUE cross")] == ["PRAIR"]  # every word begins a word of a name
    assert [p.id for p in search("prairie bcbs")] == ["PRAIR"]  # one of its other names
    assert [p.id for p in search("hmh01")] == ["HRBOR"]  # an alias, whole
    assert [p.id for p in search("medicaid managed")] == ["LAKES"]
    assert search("aetna") == [] and search("  ") == []


def test_a_listing_says_which_transactions_need_enrollment(subject: Subject) -> None:
    (prairie,) = subject.clearinghouse.payers("prairie")
    assert (prairie.payer_id, prairie.name) == ("00621", "Prairie Blue Cross Blue Shield")
    assert set(prairie.aliases) == {"00621", "PRBCBS", "BCBSPR"}
    assert "Prairie BCBS" in prairie.names
    assert {kind.value: support.value for kind, support in prairie.transactions} == {
        "eligibility": "supported",
        "claims": "enrollment_required",
        "claim_status": "supported",
        "remittance": "enrollment_required",
    }
    assert subject.clearinghouse.payer("PRAIR") == prairie
    cedar = subject.clearinghouse.payer("CEDAR")
    assert cedar.support(EnrolledTransaction.REMITTANCE) is TransactionSupport.NOT_SUPPORTED


def test_a_payer_the_directory_does_not_have_is_not_found(subject: Subject) -> None:
    with pytest.raises(ClearinghouseNotFoundError):
        subject.clearinghouse.payer("NOPEX")


def test_an_enrollment_with_a_directory_payer_follows_that_payer(subject: Subject) -> None:
    created = subject.clearinghouse.enroll(enrollment_request("LAKES"))
    subject.clearinghouse.enrollment(created.id)
    waiting = subject.clearinghouse.enrollment(created.id)
    assert (waiting.status, waiting.payer_id) == (EnrollmentStatus.ACTION_REQUIRED, "LAKES")
    assert waiting.message == "The provider must sign the payer's EDI agreement."


def test_an_enrollment_whose_answer_was_lost_is_found_again(subject: Subject) -> None:
    find = subject.clearinghouse.find_enrollment
    assert find("SBXHP", EnrolledTransaction.ELIGIBILITY, provider_npi="1999999984") is None
    created = subject.clearinghouse.enroll(enrollment_request("SBXHP"))
    found = find("SBXHP", EnrolledTransaction.ELIGIBILITY, provider_npi="1999999984")
    assert found is not None and (found.id, found.status) == (created.id, EnrollmentStatus.SUBMITTED)
    assert find("SBXHP", EnrolledTransaction.CLAIMS, provider_npi="1999999984") is None  # another kind
    assert find("PRAIR", EnrolledTransaction.ELIGIBILITY, provider_npi="1999999984") is None
    assert find("SBXHP", EnrolledTransaction.ELIGIBILITY, provider_npi="1234567893") is None
    rejected = subject.clearinghouse.enroll(enrollment_request("HRBOR"))
    for _ in range(2):
        subject.clearinghouse.enrollment(rejected.id)
    assert find("HRBOR", EnrolledTransaction.ELIGIBILITY, provider_npi="1999999984") is None  # ended
