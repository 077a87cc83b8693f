"""The Stedi adapter against the fake Stedi: what goes over the wire (paths, the key, the
idempotency key, JSON bodies), retries bounded on 429 and 5xx, a timeout, the errors' two kinds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from devstack.sandbox_payer import answer_270

from tests.contract.test_clearinghouse_port import claim_batch, enrollment_request, inquiry_270
from tests.fakes.fake_stedi import FakeStedi
from therabill.adapters.http_client import HttpRequest, HttpResponse, RetryingClient, RetryPolicy
from therabill.adapters.stedi import StediClearinghouse
from therabill.clearinghouse.errors import (
    ClearinghouseAuthError,
    ClearinghouseRejectedError,
    ClearinghouseUnavailableError,
)
from therabill.clearinghouse.port import EnrolledTransaction
from therabill.x12.writer import SequentialControlNumbers


def adapter(fake: FakeStedi, key: str | None = None, attempts: int = 3) -> StediClearinghouse:
    client = RetryingClient(
        fake.transport, timeout_seconds=12, retry=RetryPolicy(attempts=attempts), sleep=fake.sleep
    )
    return StediClearinghouse(lambda: key or fake.api_key, client=client)


def test_an_eligibility_check_posts_the_270_as_json_with_the_key() -> None:
    fake = FakeStedi()
    adapter(fake).check_eligibility(inquiry_270("TB-ACTIVE-25"))
    request = fake.requests[-1]
    assert (
        request.url
        == "https://healthcare.us.stedi.com/2024-04-01/change/medicalnetwork/eligibility/v3/raw-x12"
    )
    assert request.headers["Authorization"] == "test_stedi_key"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body or b"")["x12"].startswith("ISA*00*")
    assert fake.timeouts == [12]


def test_429_and_5xx_are_retried_with_backoff_then_answered() -> None:
    fake = FakeStedi()
    fake.fail_next(1, "429")
    fake.fail_next(1, "503")
    answer = adapter(fake).check_eligibility(inquiry_270("TB-ACTIVE-25"))
    assert b"ST*271*" in answer
    assert len(fake.requests) == 3
    assert fake.slept == [1.0, 1.0]  # 0.5 s raised to the 429's Retry-After of 1 s; then 0.5 * 2


def test_retries_are_bounded_and_end_unavailable() -> None:
    fake = FakeStedi()
    fake.fail_next(5, "500")
    with pytest.raises(ClearinghouseUnavailableError) as caught:
        adapter(fake).check_eligibility(inquiry_270("TB-ACTIVE-25"))
    assert caught.value.status == 500
    assert len(fake.requests) == 3


def test_a_timeout_is_unavailable_after_its_retries() -> None:
    fake = FakeStedi()
    fake.fail_next(3, "timeout")
    with pytest.raises(ClearinghouseUnavailableError):
        adapter(fake).check_eligibility(inquiry_270("TB-ACTIVE-25"))
    assert len(fake.requests) == 3


def test_a_claim_batch_carries_its_idempotency_key_on_every_attempt() -> None:
    fake = FakeStedi()
    fake.fail_next(1, "504")
    receipt = adapter(fake).submit_claims(claim_batch("CLM1"), idempotency_key="batch-7")
    assert receipt.submission_id
    assert [r.headers["Idempotency-Key"] for r in fake.requests] == ["batch-7", "batch-7"]
    assert fake.requests[-1].url.endswith("/change/medicalnetwork/professionalclaims/v3/raw-x12-submission")


def test_enrollment_creation_is_not_repeated_after_a_server_error() -> None:
    fake = FakeStedi()
    stedi = adapter(fake)
    stedi.enroll(enrollment_request("SBX01"))  # the provider record now exists
    fake.requests.clear()
    fake.fail_next(1, "500", only="POST https://enrollments")
    with pytest.raises(ClearinghouseUnavailableError):
        stedi.enroll(enrollment_request("SBX02"))
    assert [r.method for r in fake.requests] == ["GET", "POST"]  # the lookup, one creation attempt


def test_a_wrong_key_is_an_auth_error_not_retried() -> None:
    fake = FakeStedi()
    with pytest.raises(ClearinghouseAuthError) as caught:
        adapter(fake, key="wrong").check_eligibility(inquiry_270("TB-ACTIVE-25"))
    assert caught.value.status == 403
    assert len(fake.requests) == 1


def test_a_validation_error_is_a_rejection_with_the_field() -> None:
    fake = FakeStedi()
    stedi = adapter(fake)
    with pytest.raises(ClearinghouseRejectedError) as caught:
        stedi.submit_claims(b"", idempotency_key="batch-empty")
    assert caught.value.status == 400
    assert [r.code for r in caught.value.reasons] == ["33"]


def test_a_document_is_downloaded_without_our_key() -> None:
    fake = FakeStedi()
    document_id = fake.app.deliver("835", b"ISA*00*remittance~", at=datetime(2026, 12, 1, tzinfo=UTC))
    assert adapter(fake).fetch(document_id) == b"ISA*00*remittance~"
    listing, download = fake.requests
    assert listing.url.endswith(f"/2023-08-01/transactions/{document_id}/input")
    assert download.url.startswith("https://stedi-core-artifacts.s3.amazonaws.com/downloads/")
    assert "Authorization" not in download.headers


def test_a_rejection_never_quotes_the_member() -> None:
    fake = FakeStedi()
    malformed = inquiry_270("TB-ACTIVE-25").replace(b"*MI*TB-ACTIVE-25~", b"~")
    with pytest.raises(ClearinghouseRejectedError) as caught:
        adapter(fake).check_eligibility(malformed)
    error = caught.value
    for text in (str(error), repr(error.details), repr(error.reasons)):
        assert "DOE" not in text and "JANE" not in text and "19880412" not in text


def test_a_payer_stedi_cannot_reach_is_unavailable() -> None:
    fake = FakeStedi()
    body = {"status": "ERROR", "errors": [{"code": "42", "description": "Unable to Respond at Current Time"}]}

    def payer_down(request: HttpRequest, timeout: float) -> HttpResponse:
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(body).encode())

    stedi = StediClearinghouse(lambda: "key", client=RetryingClient(payer_down, sleep=fake.sleep))
    with pytest.raises(ClearinghouseUnavailableError):
        stedi.check_eligibility(inquiry_270("TB-ACTIVE-25"))


def test_a_validation_exception_names_the_field() -> None:
    body = {
        "message": "1 validation error detected",
        "fieldList": [{"path": "/x12", "message": "must not be null"}],
    }

    def invalid(request: HttpRequest, timeout: float) -> HttpResponse:
        return HttpResponse(400, {"content-type": "application/json"}, json.dumps(body).encode())

    stedi = StediClearinghouse(lambda: "key", client=RetryingClient(invalid))
    with pytest.raises(ClearinghouseRejectedError) as caught:
        stedi.check_eligibility(inquiry_270("TB-ACTIVE-25"))
    assert [(r.code, r.location) for r in caught.value.reasons] == [("validation", "/x12")]


def test_inbound_follows_every_page() -> None:
    fake = FakeStedi()
    since = datetime(2026, 11, 30, tzinfo=UTC)
    for minute in range(501):
        fake.app.deliver("835", b"ISA~", at=since + timedelta(minutes=minute + 1))
    documents = adapter(fake).inbound(since)
    assert len(documents) == 501
    assert documents[0].received_at == since + timedelta(minutes=1)
    polls = [r.url for r in fake.requests if "/polling/transactions" in r.url]
    assert len(polls) == 2
    assert "startDateTime=2026-11-30T00%3A00%3A00Z" in polls[0] and "pageToken=500" in polls[1]


def test_a_999_in_a_200_answer_is_a_rejection_too() -> None:
    """Stedi documents that the 200 answer's x12 may be a 999 instead of a 271."""
    malformed = inquiry_270("TB-ACTIVE-25").replace(b"*MI*TB-ACTIVE-25~", b"~")
    rejection = answer_270(
        malformed, numbers=SequentialControlNumbers(), now=datetime(2026, 12, 4, tzinfo=UTC)
    )
    body = {"status": "SUCCESS", "x12": rejection.decode()}

    def answered(request: HttpRequest, timeout: float) -> HttpResponse:
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(body).encode())

    stedi = StediClearinghouse(lambda: "key", client=RetryingClient(answered))
    with pytest.raises(ClearinghouseRejectedError) as caught:
        stedi.check_eligibility(malformed)
    assert caught.value.acknowledgment == rejection
    assert [r.code for r in caught.value.reasons] == ["IK3-8", "IK4-1", "IK5-5"]


def test_a_long_retry_after_is_cut_to_the_longest_wait() -> None:
    fake = FakeStedi()
    answers = iter([HttpResponse(429, {"retry-after": "120"}, b"{}")])

    def throttled_once(request: HttpRequest, timeout: float) -> HttpResponse:
        return next(answers, None) or fake.transport(request, timeout)

    client = RetryingClient(throttled_once, retry=RetryPolicy(longest_wait=8.0), sleep=fake.sleep)
    StediClearinghouse(lambda: fake.api_key, client=client).check_eligibility(inquiry_270("TB-ACTIVE-25"))
    assert fake.slept == [8.0]


def _answering(body: dict[str, object]) -> tuple[StediClearinghouse, list[HttpRequest]]:
    seen: list[HttpRequest] = []

    def transport(request: HttpRequest, _: float) -> HttpResponse:
        seen.append(request)
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(body).encode())

    return StediClearinghouse(lambda: "k", client=RetryingClient(transport)), seen


def test_a_payer_search_asks_the_payers_api_and_reads_each_record() -> None:
    record = {
        "stediId": "UPICO",
        "displayName": "Blue Cross Blue Shield of North Carolina",
        "primaryPayerId": "BCSNC",
        "aliases": ["BCSNC", "NCBCBS"],
        "names": ["Blue Cross Blue Shield North Carolina"],
        # An older record: claims under claimSubmission; claim status missing; a value not known.
        "transactionSupport": {
            "eligibilityCheck": "SUPPORTED",
            "claimSubmission": "ENROLLMENT_REQUIRED",
            "claimPayment": "SOMETHING_NEW",
        },
    }
    stedi, seen = _answering({"items": [{"payer": record, "score": 3}, {"payer": {"stediId": "NONAM"}}]})
    (found,) = stedi.payers("blue cross nc")
    assert seen[0].url == (
        "https://healthcare.us.stedi.com/2024-04-01/payers/search?query=blue+cross+nc&pageSize=25"
    )
    assert (found.id, found.payer_id, found.aliases) == ("UPICO", "BCSNC", ("BCSNC", "NCBCBS"))
    assert {kind.value: support.value for kind, support in found.transactions} == {
        "eligibility": "supported",
        "claims": "enrollment_required",
        "claim_status": "not_supported",
        "remittance": "not_supported",
    }


def test_one_payer_is_read_by_its_directory_id() -> None:
    stedi, seen = _answering({"payer": {"stediId": "UPICO", "displayName": "BCBS NC"}})
    found = stedi.payer("UPICO")
    assert seen[0].url == "https://healthcare.us.stedi.com/2024-04-01/payer/UPICO"
    assert (found.payer_id, found.transactions[0][1].value) == ("UPICO", "not_supported")


def test_finding_an_enrollment_reads_every_page_until_it_is_found() -> None:
    """A lost answer's enrollment may be on any page: missing it would make a second one."""

    pages = [
        {
            "items": [{"id": "e1", "status": "REJECTED", "transactions": {"eligibilityCheck": {}}}],
            "nextPageToken": "p2",
        },
        {"items": [{"id": "e2", "status": "LIVE", "transactions": {"eligibilityCheck": {}}}]},
    ]
    seen: list[HttpRequest] = []

    def transport(request: HttpRequest, _: float) -> HttpResponse:
        seen.append(request)
        return HttpResponse(
            200, {"content-type": "application/json"}, json.dumps(pages[len(seen) - 1]).encode()
        )

    stedi = StediClearinghouse(lambda: "k", client=RetryingClient(transport))
    found = stedi.find_enrollment("SBX01", EnrolledTransaction.ELIGIBILITY, provider_npi="1234567893")
    assert found is not None and found.id == "e2"
    assert len(seen) == 2 and "pageToken=p2" in seen[1].url and "providerNpis=1234567893" in seen[1].url
