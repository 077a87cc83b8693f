"""Eligibility checks (270 → 271): made on demand, when coverage is added or changed, and in the
batch the day before each insured session (``batch.py``).

One check of a client, payer and date of service a day (the day guard, claimed before the
clearinghouse is called), unless staff force another. The payer's 271 is kept in S3 as soon as it
arrives, so a crash before the check is stored is finished by the next attempt from that copy,
without asking the payer again. A check that never reached the payer (the clearinghouse down, a
270 it refused) or that the payer asked to retry later leaves the guard ``failed``: the next
request checks again. Health information never reaches a log or an exception message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from therabill.clearinghouse.port import Clearinghouse
from therabill.clients.service import ClientService
from therabill.core.clock import Clock, local_date
from therabill.core.errors import TherabillError
from therabill.core.ids import new_id
from therabill.coverage.errors import CoverageChangedError
from therabill.coverage.models import Coverage
from therabill.coverage.service import CoverageService
from therabill.eligibility import summary
from therabill.eligibility.errors import EligibilityRefusedError
from therabill.eligibility.inquiry import build_inquiry
from therabill.eligibility.models import CheckOutcome, EligibilityCheck, Trigger
from therabill.eligibility.ports import DocumentStore
from therabill.eligibility.store import Claim, DayGuard, EligibilityStore
from therabill.practices.service import PracticeService
from therabill.providers.service import ProviderService
from therabill.x12.eligibility.inquiry import EligibilityInquiry, InvalidInquiryError, build_270, check
from therabill.x12.eligibility.response import read_271
from therabill.x12.errors import X12UnreadableError
from therabill.x12.writer import ControlNumbers, Envelope, Party

ENVELOPE = Envelope(Party("ZZ", "THERABILL"), Party("ZZ", "STEDI"), "THERABILL", "STEDI")
NO_BILLING_PROVIDER = "insurance set-up not complete: add the billing provider"


def digest(inquiry: EligibilityInquiry) -> str:
    """What a 270 asks (payer, provider, people, date, service types), hashed: the trace differs
    on every attempt and is left out."""
    asked = replace(inquiry, trace_number="")
    people = [asked.subscriber, asked.dependent]
    text = repr((asked.payer, asked.provider, asked.date_of_service, asked.service_types))
    text += repr([(p.last_name, p.first_name, p.date_of_birth, p.member_id, p.gender) for p in people if p])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def document_key(practice_id: str, client_id: str, check_id: str) -> str:
    """Where a check's raw 271 is kept in the private documents bucket."""
    return f"eligibility/{practice_id}/{client_id}/{check_id}.x12"


class EligibilityService:
    def __init__(
        self,
        *,
        store: EligibilityStore,
        clients: ClientService,
        coverage: CoverageService,
        practices: PracticeService,
        providers: ProviderService,
        clearinghouse: Callable[[], Clearinghouse],
        documents: Callable[[], DocumentStore],
        control_numbers: Callable[[str], ControlNumbers],
        clock: Clock,
    ) -> None:
        self.store = store
        self._clients = clients
        self._coverage = coverage
        self._practices = practices
        self._providers = providers
        self._clearinghouse = clearinghouse
        self._documents = documents
        self._numbers = control_numbers
        self._clock = clock

    # -- a check --------------------------------------------------------------------------------
    def check(
        self,
        practice_id: str,
        client_id: str,
        coverage_id: str,
        *,
        date_of_service: date | None = None,
        force: bool = False,
        trigger: Trigger = "staff",
        requested_by: str | None = None,
    ) -> CheckOutcome:
        """Check the coverage for ``date_of_service`` (default: the practice's today), or return
        today's check of the same client, payer and date unless ``force``."""
        now = self._clock()
        today = local_date(now, self._practices.get(practice_id).time_zone)
        day = date_of_service or today
        inquiry, coverage = self._inquiry(practice_id, client_id, coverage_id, day)
        guard = DayGuard(today, client_id, coverage.payer.id or "", day, inquiry=digest(inquiry))
        claim = self.store.claim(practice_id, guard, check_id=new_id("elg"), now=now, force=force)
        if claim.kind == "done":
            return CheckOutcome(
                check=self.store.get_check(practice_id, client_id, claim.check_id), repeated=True
            )
        made = self._make(
            practice_id,
            guard,
            claim,
            replace(inquiry, trace_number=claim.check_id),
            coverage,
            meta={"trigger": trigger, "requested_by": requested_by},
        )
        return CheckOutcome(check=made)

    def _inquiry(
        self, practice_id: str, client_id: str, coverage_id: str, day: date
    ) -> tuple[EligibilityInquiry, Coverage]:
        """What the 270 says, or the reason no check can be made (nothing written yet)."""
        client = self._clients.get(practice_id, client_id)
        coverage = self._coverage.get(practice_id, client_id, coverage_id)
        if coverage.status != "active":
            raise EligibilityRefusedError("the coverage was removed: check an active one")
        if coverage.payer.id is None:
            raise EligibilityRefusedError("the coverage has no payer id: add it to the coverage")
        provider = self._providers.billing_provider_record(practice_id)
        if provider is None:
            raise EligibilityRefusedError(NO_BILLING_PROVIDER)
        inquiry = build_inquiry(
            coverage=coverage, client=client, provider=provider, date_of_service=day, check_id=new_id("elg")
        )
        try:
            check(inquiry)
        except InvalidInquiryError as exc:
            raise EligibilityRefusedError(
                f"the coverage is missing what a check needs ({exc.field}): complete it", field=exc.field
            ) from None
        return inquiry, coverage

    def _make(
        self,
        practice_id: str,
        guard: DayGuard,
        claim: Claim,
        inquiry: EligibilityInquiry,
        coverage: Coverage,
        *,
        meta: dict[str, Any],
    ) -> EligibilityCheck:
        key = document_key(practice_id, guard.client_id, claim.check_id)
        raw = self._documents().get(key) if claim.kind == "resume" else None
        if raw is None:
            try:
                raw = self._ask(practice_id, inquiry)
                self._documents().put(key, raw)
            except TherabillError:
                self.store.release(practice_id, guard, check_id=claim.check_id, state="failed")
                raise
        made = self._read(raw, inquiry, coverage, check_id=claim.check_id, key=key, meta=meta)
        # A resumed attempt that stored the check already (a crash before the guard was done)
        # answers with the check as first stored.
        made = self.store.put_check(practice_id, made)
        self._take_found(practice_id, coverage, made)
        self.store.release(
            practice_id, guard, check_id=claim.check_id, state="failed" if made.retry_later else "done"
        )
        return made

    def _ask(self, practice_id: str, inquiry: EligibilityInquiry) -> bytes:
        x12_270 = build_270(
            inquiry, envelope=ENVELOPE, created_at=self._clock(), numbers=self._numbers(practice_id)
        )
        return self._clearinghouse().check_eligibility(x12_270)

    def _read(
        self,
        raw: bytes,
        inquiry: EligibilityInquiry,
        coverage: Coverage,
        *,
        check_id: str,
        key: str,
        meta: dict[str, Any],
    ) -> EligibilityCheck:
        """The check from the 271; one that cannot be read is kept as status unknown (its raw
        copy is in S3 for a person to read)."""
        base: dict[str, Any] = {
            "id": check_id,
            "client_id": coverage.client_id,
            "coverage_id": coverage.id,
            "payer_id": coverage.payer.id or "",
            "date_of_service": inquiry.date_of_service,
            "checked_at": self._clock(),
            "document_key": key,
            **meta,
        }
        try:
            found = read_271(raw).only
        except X12UnreadableError:
            return EligibilityCheck(**base, status="unknown")
        begin, end = summary.plan_dates(found)
        return EligibilityCheck(
            **base,
            status=found.status.value,
            plan_name=found.plan_name,
            plan_begin=begin.start if begin else None,
            plan_end=end.end if end else None,
            network=summary.network_status(found),
            services=tuple(summary.service_benefits(found, code) for code in inquiry.service_types),
            rejections=summary.rejections(found),
            copay_found=summary.copay_found(found, inquiry.service_types) if found.active else None,
        )

    def _take_found(self, practice_id: str, coverage: Coverage, made: EligibilityCheck) -> None:
        """The copay (and a whole in-network coinsurance percentage) found become the coverage's
        ``copay_found`` / ``coinsurance_found`` (staff's overrides stay and win); read again and
        retried once when staff changed the coverage meanwhile."""
        found = {"copay_found": made.copay_found, "coinsurance_found": summary.coinsurance_found(made)}
        found = {k: v for k, v in found.items() if v is not None}
        for _ in range(2 if found else 0):
            current = self._coverage.get(practice_id, coverage.client_id, coverage.id)
            changes = {k: v for k, v in found.items() if getattr(current, k) != v}
            if not changes or current.status != "active":
                return
            try:
                self._coverage.change(
                    practice_id, coverage.client_id, coverage.id, changes, expected_version=current.version
                )
                return
            except CoverageChangedError:
                continue

    # -- reads ----------------------------------------------------------------------------------
    def checks_of(
        self, practice_id: str, client_id: str, coverage_id: str | None = None
    ) -> list[EligibilityCheck]:
        """The client's checks (of one coverage, when named), newest first."""
        self._clients.get(practice_id, client_id)  # 404 outside the practice
        if coverage_id is not None:
            self._coverage.get(practice_id, client_id, coverage_id)
        found = self.store.checks_of_client(practice_id, client_id)
        return [c for c in found if coverage_id is None or c.coverage_id == coverage_id]

    def get(self, practice_id: str, client_id: str, check_id: str) -> EligibilityCheck:
        return self.store.get_check(practice_id, client_id, check_id)

    def today(self, practice_id: str) -> date:
        return local_date(self._clock(), self._practices.get(practice_id).time_zone)

    def now(self) -> datetime:
        return self._clock()
