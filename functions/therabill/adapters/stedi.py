"""Stedi, the clearinghouse, through its raw-X12 endpoints: the `Clearinghouse` port.

What it calls (Stedi's API reference and OpenAPI documents; docs/architecture.md "The clearinghouse"):
- eligibility: POST {healthcare}/change/medicalnetwork/eligibility/v3/raw-x12, body {"x12": 270};
  the answer's "x12" holds the payer's 271, or a 999 when Stedi refused the 270; a 400 carries
  "errors" (code, description, followupAction, location) or a validation message;
- claims: POST {healthcare}/change/medicalnetwork/professionalclaims/v3/raw-x12-submission with an
  Idempotency-Key header (up to 255 characters, kept 24 hours); 409 is the same key still in
  flight, 422 the key reused for another body; the answer holds claimReference, controlNumber and
  Stedi's 277CA in "x12";
- inbound: GET {core}/polling/transactions?startDateTime=...&pageToken=... (direction INBOUND,
  transactionId, processedAt, x12.metadata.transaction.transactionSetIdentifier), and
  GET {core}/transactions/{id}/input, a 302 to a short-lived download URL fetched without our key;
- payers: GET {healthcare}/payers/search?query=...&pageSize=... (items of {payer, score, matches},
  best first) and GET {healthcare}/payer/{stediId} ({payer}); a payer record has stediId,
  displayName, primaryPayerId, aliases, names and transactionSupport (SUPPORTED,
  ENROLLMENT_REQUIRED or NOT_SUPPORTED per kind);
- enrollments: GET/POST {enrollments}/providers, POST {enrollments}/enrollments,
  GET {enrollments}/enrollments?providerNpis=&payerIds=&transactions= (a list, filtered),
  GET {enrollments}/enrollments/{id} (statuses DRAFT .. PROVIDER_ACTION_REQUIRED, "reason").
Every request carries the API key in the Authorization header (the key itself, no prefix).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

from therabill.adapters.http_client import HttpRequest, HttpResponse, RetryingClient, TransportError
from therabill.clearinghouse.acknowledgments import is_999, reasons_from_999, rejected
from therabill.clearinghouse.errors import (
    ClearinghouseAuthError,
    ClearinghouseNotFoundError,
    ClearinghouseRejectedError,
    ClearinghouseUnavailableError,
    RejectionReason,
)
from therabill.clearinghouse.port import (
    EnrolledTransaction,
    Enrollment,
    EnrollmentRequest,
    EnrollmentStatus,
    InboundDocument,
    PayerListing,
    SubmissionReceipt,
    TransactionSupport,
)
from therabill.x12.eligibility.rejections import RETRY_LATER

ELIGIBILITY_PATH = "/change/medicalnetwork/eligibility/v3/raw-x12"
CLAIMS_PATH = "/change/medicalnetwork/professionalclaims/v3/raw-x12-submission"

STATUSES = {
    "DRAFT": EnrollmentStatus.DRAFT,
    "SUBMITTED": EnrollmentStatus.SUBMITTED,
    "STEDI_ACTION_REQUIRED": EnrollmentStatus.SUBMITTED,  # Stedi's to work on, not the provider's
    "PROVISIONING": EnrollmentStatus.PROVISIONING,
    "LIVE": EnrollmentStatus.LIVE,
    "PROVIDER_ACTION_REQUIRED": EnrollmentStatus.ACTION_REQUIRED,
    "REJECTED": EnrollmentStatus.REJECTED,
    "CANCELED": EnrollmentStatus.CANCELED,
}
SEARCH_PAGE = 25  # Stedi takes 10 to 100 a page
_MAX_PAGES = 20  # a listing of one provider, payer and kind: far fewer pages than this
SUPPORT = {
    "SUPPORTED": TransactionSupport.SUPPORTED,
    "ENROLLMENT_REQUIRED": TransactionSupport.ENROLLMENT_REQUIRED,
    "NOT_SUPPORTED": TransactionSupport.NOT_SUPPORTED,
}
# Where a payer record says whether it takes each kind (professionalClaimSubmission, else the
# older claimSubmission).
SUPPORT_KEYS = {
    EnrolledTransaction.ELIGIBILITY: ("eligibilityCheck",),
    EnrolledTransaction.CLAIMS: ("professionalClaimSubmission", "claimSubmission"),
    EnrolledTransaction.CLAIM_STATUS: ("claimStatus",),
    EnrolledTransaction.REMITTANCE: ("claimPayment",),
}
TRANSACTIONS = {
    EnrolledTransaction.ELIGIBILITY: "eligibilityCheck",
    EnrolledTransaction.CLAIMS: "professionalClaimSubmission",
    EnrolledTransaction.CLAIM_STATUS: "claimStatus",
    EnrolledTransaction.REMITTANCE: "claimPayment",
}


@dataclass(frozen=True, slots=True)
class StediEndpoints:
    healthcare: str = "https://healthcare.us.stedi.com/2024-04-01"
    enrollments: str = "https://enrollments.us.stedi.com/2024-09-01"
    core: str = "https://core.us.stedi.com/2023-08-01"

    @classmethod
    def at(cls, base: str) -> StediEndpoints:
        """All three APIs under one base URL (the local sandbox clearinghouse)."""
        base = base.rstrip("/")
        return cls(f"{base}/healthcare", f"{base}/enrollments", f"{base}/core")


class StediClearinghouse:
    def __init__(
        self,
        api_key: Callable[[], str],
        *,
        endpoints: StediEndpoints | None = None,
        client: RetryingClient | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api_key = api_key  # read per request: a rotated key is picked up with the secret
        self._endpoints = endpoints or StediEndpoints()
        self._client = client or RetryingClient()
        self._now = now

    # -- eligibility ------------------------------------------------------------------------------
    def check_eligibility(self, x12_270: bytes) -> bytes:
        operation = "eligibility check"
        url = self._endpoints.healthcare + ELIGIBILITY_PATH
        response = self._call(operation, "POST", url, {"x12": x12_270.decode("utf-8")})
        body = response.json()
        x12 = str(body.get("x12") or "").encode("utf-8")
        if response.status == 200 and x12 and not is_999(x12):
            return x12
        if x12 and is_999(x12) and (response.status != 200 or rejected(x12)):
            reasons = (*reasons_from_999(x12), *_reasons(body))
            raise ClearinghouseRejectedError(
                operation, reasons=reasons, status=response.status, acknowledgment=x12
            )
        self._fail(operation, response, x12 or None)

    # -- claims -----------------------------------------------------------------------------------
    def submit_claims(self, x12_837_batch: bytes, *, idempotency_key: str) -> SubmissionReceipt:
        operation = "claim submission"
        if not 1 <= len(idempotency_key) <= 255:
            raise ValueError("the idempotency key must be 1 to 255 characters")
        url = self._endpoints.healthcare + CLAIMS_PATH
        body = {"x12": x12_837_batch.decode("utf-8")}
        response = self._call(operation, "POST", url, body, {"Idempotency-Key": idempotency_key})
        answer = response.json()
        acknowledgment = str(answer.get("x12") or "").encode("utf-8") or None
        if response.status == 200 and answer.get("status", "SUCCESS") == "SUCCESS":
            reference = answer.get("claimReference") or {}
            return SubmissionReceipt(
                submission_id=str(reference.get("correlationId") or reference.get("rhclaimNumber") or ""),
                control_number=str(answer.get("controlNumber") or ""),
                acknowledgment=acknowledgment,
            )
        if response.status == 409:  # the same key is still being worked on
            raise ClearinghouseUnavailableError(operation, status=409)
        if response.status == 422:  # the key was used for another batch: a defect on our side
            reason = RejectionReason("idempotency_key_reused", "Idempotency-Key")
            raise ClearinghouseRejectedError(operation, reasons=(reason,), status=422)
        self._fail(operation, response, acknowledgment)

    # -- inbound documents ------------------------------------------------------------------------
    def inbound(self, since: datetime) -> list[InboundDocument]:
        # Stedi wants a start at least a minute in the past; later ones are filtered here.
        start = min(since, self._now() - timedelta(seconds=61))
        documents: list[InboundDocument] = []
        query: dict[str, str] = {"startDateTime": _iso(start), "pageSize": "500"}
        while True:
            url = f"{self._endpoints.core}/polling/transactions?{urlencode(query)}"
            answer = self._ok("inbound listing", self._call("inbound listing", "GET", url)).json()
            for item in answer.get("items") or []:
                document = _inbound(item)
                if document is not None and document.received_at > since:
                    documents.append(document)
            token = answer.get("nextPageToken")
            if not token:
                return sorted(documents, key=lambda document: document.received_at)
            query = {"pageToken": str(token), "pageSize": "500"}

    def fetch(self, document_id: str) -> bytes:
        operation = "document download"
        url = f"{self._endpoints.core}/transactions/{quote(document_id, safe='')}/input"
        response = self._call(operation, "GET", url)
        if response.status in (301, 302, 303, 307, 308):
            target = response.json().get("documentDownloadUrl") or response.headers.get("location")
            if not target:
                raise ClearinghouseUnavailableError(operation, status=response.status)
            response = self._call(operation, "GET", str(target), authorized=False)
        return self._ok(operation, response).body

    # -- the payer directory ----------------------------------------------------------------------
    def payers(self, query: str) -> list[PayerListing]:
        operation = "payer search"
        search = urlencode({"query": query[:200], "pageSize": str(SEARCH_PAGE)})
        url = f"{self._endpoints.healthcare}/payers/search?{search}"
        answer = self._ok(operation, self._call(operation, "GET", url)).json()
        found = [_listing(item.get("payer") or {}) for item in answer.get("items") or []]
        return [listing for listing in found if listing is not None]

    def payer(self, directory_id: str) -> PayerListing:
        operation = "payer"
        url = f"{self._endpoints.healthcare}/payer/{quote(directory_id, safe='')}"
        answer = self._ok(operation, self._call(operation, "GET", url)).json()
        listing = _listing(answer.get("payer") or {})
        if listing is None:
            raise ClearinghouseNotFoundError(operation)
        return listing

    # -- enrollments ------------------------------------------------------------------------------
    def enroll(self, request: EnrollmentRequest) -> Enrollment:
        operation = "enrollment"
        provider_id = self._provider_id(request)
        body: dict[str, Any] = {
            "payer": {"idOrAlias": request.payer_id},
            "provider": {"id": provider_id},
            "primaryContact": _contact(request),
            "transactions": {TRANSACTIONS[request.transaction]: {"enroll": True}},
            "userEmail": request.notify_email,
            "status": "STEDI_ACTION_REQUIRED" if request.submit else "DRAFT",
        }
        if request.requested_effective is not None:
            body["requestedEffectiveDate"] = request.requested_effective.strftime("%Y%m%d")
        url = f"{self._endpoints.enrollments}/enrollments"
        # No idempotency key on this endpoint: only a throttled request (never processed) is repeated.
        response = self._call(operation, "POST", url, body, repeatable=False)
        return _enrollment(self._ok(operation, response).json())

    def enrollment(self, enrollment_id: str) -> Enrollment:
        operation = "enrollment"
        url = f"{self._endpoints.enrollments}/enrollments/{quote(enrollment_id, safe='')}"
        return _enrollment(self._ok(operation, self._call(operation, "GET", url)).json())

    def find_enrollment(
        self, payer_id: str, transaction: EnrolledTransaction, *, provider_npi: str
    ) -> Enrollment | None:
        operation = "enrollment listing"
        query = {
            "providerNpis": provider_npi,
            "payerIds": payer_id,
            "transactions": TRANSACTIONS[transaction],
        }
        ended = (EnrollmentStatus.REJECTED, EnrollmentStatus.CANCELED)
        for _ in range(_MAX_PAGES):  # every page: an enrollment missed would be made twice
            url = f"{self._endpoints.enrollments}/enrollments?{urlencode(query)}"
            answer = self._ok(operation, self._call(operation, "GET", url)).json()
            found = [_enrollment(item) for item in answer.get("items") or [] if item.get("id")]
            match = next((e for e in found if e.status not in ended and e.transaction is transaction), None)
            token = answer.get("nextPageToken")
            if match is not None or not token:
                return match
            query = {**query, "pageToken": str(token)}
        raise ClearinghouseUnavailableError(operation)  # a listing that never ends: try again later

    def _provider_id(self, request: EnrollmentRequest) -> str:
        """Stedi's provider record for the NPI: the existing one, else a new one."""
        operation = "provider record"
        query = urlencode({"providerNpis": request.provider_npi})
        found = self._ok(
            operation, self._call(operation, "GET", f"{self._endpoints.enrollments}/providers?{query}")
        )
        for item in found.json().get("items") or []:
            if item.get("npi") == request.provider_npi and item.get("id"):
                return str(item["id"])
        body = {
            "name": request.provider_name,
            "npi": request.provider_npi,
            "taxId": request.provider_tax_id,
            "taxIdType": request.provider_tax_id_kind.upper(),
        }
        url = f"{self._endpoints.enrollments}/providers"
        created = self._ok(operation, self._call(operation, "POST", url, body, repeatable=False))
        return str(created.json()["id"])

    # -- HTTP -------------------------------------------------------------------------------------
    def _call(
        self,
        operation: str,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        extra: Mapping[str, str] | None = None,
        *,
        repeatable: bool = True,
        authorized: bool = True,
    ) -> HttpResponse:
        headers = {"Accept": "application/json", **(extra or {})}
        if authorized:
            headers["Authorization"] = self._api_key()
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        try:
            return self._client.send(HttpRequest(method, url, headers, data), repeatable=repeatable)
        except TransportError:
            raise ClearinghouseUnavailableError(operation) from None

    def _ok(self, operation: str, response: HttpResponse) -> HttpResponse:
        if 200 <= response.status < 300:
            return response
        self._fail(operation, response)

    def _fail(self, operation: str, response: HttpResponse, acknowledgment: bytes | None = None) -> NoReturn:
        status = response.status
        if status in (401, 403):
            raise ClearinghouseAuthError(operation, status=status)
        if status == 404 and operation in ("enrollment", "document download", "payer"):
            raise ClearinghouseNotFoundError(operation)
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after")
            seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
            raise ClearinghouseUnavailableError(operation, status=status, retry_after=seconds)
        reasons = _reasons(response.json())
        if reasons and all(reason.code in RETRY_LATER for reason in reasons):
            # AAA 42 / 80 / 04 from Stedi itself: the payer could not be reached, not our data.
            raise ClearinghouseUnavailableError(operation, status=status)
        raise ClearinghouseRejectedError(
            operation, reasons=reasons, status=status, acknowledgment=acknowledgment
        )


def _reasons(body: Mapping[str, Any]) -> tuple[RejectionReason, ...]:
    """Stedi's "errors" (AAA-like: code, description, followupAction, location), or a validation
    exception's "fieldList" (path, message), or its one "message"."""
    reasons = [
        RejectionReason(
            str(error.get("code") or ""),
            str(error.get("location") or error.get("field") or ""),
            str(error.get("description") or ""),
            str(error.get("followupAction") or ""),
        )
        for error in body.get("errors") or []
        if isinstance(error, Mapping)
    ]
    reasons += [
        RejectionReason("validation", str(field.get("path") or ""), str(field.get("message") or ""))
        for field in body.get("fieldList") or []
        if isinstance(field, Mapping)
    ]
    if not reasons and body.get("message"):
        reasons.append(RejectionReason(str(body.get("code") or "rejected"), "", str(body["message"])))
    return tuple(reasons)


def _inbound(item: Mapping[str, Any]) -> InboundDocument | None:
    if item.get("direction") != "INBOUND" or not item.get("transactionId"):
        return None
    metadata = (item.get("x12") or {}).get("metadata") or {}
    code = str((metadata.get("transaction") or {}).get("transactionSetIdentifier") or "")
    received = datetime.fromisoformat(str(item.get("processedAt")).replace("Z", "+00:00"))
    return InboundDocument(str(item["transactionId"]), code, received)


def _listing(record: Mapping[str, Any]) -> PayerListing | None:
    """A payer record as the directory lists it; None for one without its ids or name."""
    directory_id, name = record.get("stediId"), record.get("displayName")
    if not directory_id or not name:
        return None
    support = record.get("transactionSupport") or {}
    transactions = []
    for kind, names in SUPPORT_KEYS.items():
        value = next((support[key] for key in names if key in support), "NOT_SUPPORTED")
        transactions.append((kind, SUPPORT.get(str(value), TransactionSupport.NOT_SUPPORTED)))
    return PayerListing(
        id=str(directory_id),
        payer_id=str(record.get("primaryPayerId") or directory_id),
        name=str(name),
        aliases=tuple(str(alias) for alias in record.get("aliases") or []),
        names=tuple(str(other) for other in record.get("names") or []),
        transactions=tuple(transactions),
    )


def _enrollment(body: Mapping[str, Any]) -> Enrollment:
    kinds = {value: key for key, value in TRANSACTIONS.items()}
    enrolled = [kinds[name] for name in (body.get("transactions") or {}) if name in kinds]
    payer = body.get("payer") or {}
    return Enrollment(
        id=str(body["id"]),
        status=STATUSES.get(str(body.get("status")), EnrollmentStatus.SUBMITTED),
        payer_id=str(payer.get("submittedPayerIdOrAlias") or payer.get("idOrAlias") or ""),
        transaction=enrolled[0] if enrolled else None,
        message=body.get("reason") or None,
    )


def _contact(request: EnrollmentRequest) -> dict[str, str]:
    contact = request.contact
    out = {
        "email": contact.email,
        "phone": contact.phone,
        "streetAddress1": contact.street,
        "city": contact.city,
        "state": contact.state,
        "zipCode": contact.zip_code,
    }
    if contact.organization_name:
        out["organizationName"] = contact.organization_name
    else:
        out["firstName"] = contact.first_name or ""
        out["lastName"] = contact.last_name or ""
    return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
