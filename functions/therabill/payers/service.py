"""The practice's payers: search the clearinghouse's directory, accept and remove payers, and
enroll with them per kind of transaction, exactly once.

Enrolling: refused before anything is written when the payer takes that kind from any provider
(nothing to enroll), does not take it at all, or the practice has no billing provider. Else the
draft is put if absent (``ENROLLMENT#<payer>#<transaction>``, claimed for a minute), then the
clearinghouse is asked, then its id and status are recorded. A second click while the first is
at the clearinghouse is told so (409); a retry after a crash or an unavailable clearinghouse
finds the draft and completes it, first asking the clearinghouse whether the earlier request
reached it (its enrollment is then adopted, not made twice); a retry after success answers what
was recorded. A rejection
by the clearinghouse leaves nothing behind and answers its reasons."""

from __future__ import annotations

from typing import Protocol

from therabill.clearinghouse.errors import (
    ClearinghouseNotFoundError,
    ClearinghouseRejectedError,
)
from therabill.clearinghouse.port import (
    Clearinghouse,
    EnrolledTransaction,
    EnrollmentContact,
    EnrollmentRequest,
    PayerListing,
)
from therabill.core.clock import Clock
from therabill.core.errors import DependencyUnavailableError
from therabill.payers.errors import (
    EnrollmentChangedError,
    EnrollmentInProgressError,
    EnrollmentRefusedError,
    EnrollmentRejectedError,
    PayerNotAcceptedError,
    PayerNotFoundError,
)
from therabill.payers.models import (
    AcceptedPayer,
    EnrollmentView,
    PayerEnrollment,
    Step,
    plan,
    refusal,
    views,
)
from therabill.payers.store import PayerStore
from therabill.providers.models import BillingProvider, OrganizationBillingProvider


class BillingProviders(Protocol):
    def billing_provider(self, practice_id: str) -> BillingProvider | None: ...


class PayerService:
    def __init__(
        self,
        *,
        store: PayerStore,
        clearinghouse: Clearinghouse,
        providers: BillingProviders,
        clock: Clock,
    ) -> None:
        self.store = store
        self.clearinghouse = clearinghouse
        self.providers = providers
        self.clock = clock

    # -- the directory and the accepted payers --------------------------------------------------
    def search(self, query: str) -> list[PayerListing]:
        """The clearinghouse's payers matching a name, part of one, or a payer id or alias."""
        return self.clearinghouse.payers(query)

    def accept(
        self, practice_id: str, payer_id: str, *, by: str
    ) -> tuple[AcceptedPayer, list[EnrollmentView]]:
        """Accept a payer of the directory (its listing as it is now); accepted already: as it
        was. With its four kinds as last recorded (enrollments stay when a payer is removed)."""
        found = self.store.accepted(practice_id, payer_id)
        if found is None:
            try:
                listing = self.clearinghouse.payer(payer_id)
            except (ClearinghouseNotFoundError, ClearinghouseRejectedError) as exc:
                raise PayerNotFoundError(payer_id) from exc  # refused: not an id of its directory
            found = self.store.accept(practice_id, AcceptedPayer(listing, self.clock(), by))
        return found, views(found.listing, self.store.enrollments(practice_id, payer_id))

    def accepted(self, practice_id: str) -> list[tuple[AcceptedPayer, list[EnrollmentView]]]:
        """Each accepted payer with its four kinds of transaction as last recorded (two Queries;
        the clearinghouse is not asked)."""
        enrollments = self.store.enrollments(practice_id)
        return [
            (payer, views(payer.listing, [e for e in enrollments if e.payer_id == payer.listing.id]))
            for payer in self.store.all_accepted(practice_id)
        ]

    def remove(self, practice_id: str, payer_id: str) -> None:
        """The payer is no longer accepted; its enrollments stay (with the clearinghouse too)."""
        self.store.remove(practice_id, payer_id)

    # -- enrollments ----------------------------------------------------------------------------
    def enrollments(self, practice_id: str, payer_id: str) -> list[EnrollmentView]:
        """The payer's four kinds, each enrollment the clearinghouse may still move read again
        from it (when it cannot be reached, as last recorded)."""
        payer = self._accepted(practice_id, payer_id)
        current, reachable = [], True
        for recorded in self.store.enrollments(practice_id, payer_id):
            shown = recorded
            if reachable and recorded.pending:
                try:
                    shown = self._refreshed(practice_id, recorded)
                except DependencyUnavailableError:  # down, or our key refused
                    reachable = False  # the rest as recorded: the request stays within its time
            current.append(shown)
        return views(payer.listing, current)

    def enroll(
        self, practice_id: str, payer_id: str, transaction: EnrolledTransaction, *, by: str
    ) -> EnrollmentView:
        """The enrollment as recorded (see the module's words for the steps)."""
        payer = self._accepted(practice_id, payer_id)
        done = self._enroll(practice_id, payer, transaction, by=by)
        return EnrollmentView(transaction, payer.listing.support(transaction), str(done.status), done)

    def _enroll(
        self, practice_id: str, payer: AcceptedPayer, transaction: EnrolledTransaction, *, by: str
    ) -> PayerEnrollment:
        payer_id = payer.listing.id
        provider = self.providers.billing_provider(practice_id)
        refused = refusal(payer.listing, transaction, has_provider=provider is not None)
        if refused is not None or provider is None:
            raise EnrollmentRefusedError(payer_id, transaction, str(refused or "no_billing_provider"))
        draft, resumed = self._claim(practice_id, payer_id, transaction, by=by)
        if draft.clearinghouse_id is not None:
            return draft  # recorded already: a retry or a second click
        try:
            # A draft taken over may have reached the clearinghouse before its answer was lost.
            found = (
                self.clearinghouse.find_enrollment(payer_id, transaction, provider_npi=provider.npi)
                if resumed
                else None
            )
            answer = found or self.clearinghouse.enroll(enrollment_request(payer_id, transaction, provider))
        except (DependencyUnavailableError, ClearinghouseNotFoundError):
            # Down, throttled, our key refused, or an answer naming nothing: the draft is let go
            # at once (nothing was made), so the next request sends it, not in a minute.
            self.store.replace(practice_id, draft.released(self.clock()), expected_version=draft.version)
            raise
        except ClearinghouseRejectedError as exc:
            self.store.discard(practice_id, draft)
            raise EnrollmentRejectedError(payer_id, transaction, exc.reasons) from exc
        done = draft.with_clearinghouse(answer, self.clock())
        self.store.replace(practice_id, done, expected_version=draft.version)
        return done

    def _claim(
        self, practice_id: str, payer_id: str, transaction: EnrolledTransaction, *, by: str
    ) -> tuple[PayerEnrollment, bool]:
        """The draft this request may send (written), or the enrollment recorded already; and
        whether it took over a draft an earlier request may have sent."""
        now = self.clock()
        existing = self.store.enrollment(practice_id, payer_id, transaction)
        step = plan(existing, now)
        if step is Step.CREATE:
            draft = PayerEnrollment.draft(payer_id, transaction, by=by, now=now)
            existing = self.store.create(practice_id, draft)
            if existing is None:
                return draft, False
            step = plan(existing, now)  # another request put it first
        if step is Step.DONE and existing is not None:
            return existing, False
        if step is Step.BUSY or step is Step.CREATE or existing is None:
            raise EnrollmentInProgressError(payer_id, transaction)
        draft = existing.restarted(by=by, now=now)
        try:
            self.store.replace(practice_id, draft, expected_version=existing.version)
        except EnrollmentChangedError as exc:
            raise EnrollmentInProgressError(payer_id, transaction) from exc
        return draft, step is Step.RESUME

    def _refreshed(self, practice_id: str, enrollment: PayerEnrollment) -> PayerEnrollment:
        """The enrollment as the clearinghouse has it now (recorded when it changed)."""
        if enrollment.clearinghouse_id is None:
            return enrollment
        try:
            answer = self.clearinghouse.enrollment(enrollment.clearinghouse_id)
        except ClearinghouseNotFoundError:
            return enrollment
        if (answer.status, answer.message) == (enrollment.status, enrollment.message):
            return enrollment
        moved = enrollment.with_clearinghouse(answer, self.clock())
        try:
            self.store.replace(practice_id, moved, expected_version=enrollment.version)
        except EnrollmentChangedError:
            return self.store.enrollment(practice_id, enrollment.payer_id, enrollment.transaction) or moved
        return moved

    def _accepted(self, practice_id: str, payer_id: str) -> AcceptedPayer:
        payer = self.store.accepted(practice_id, payer_id)
        if payer is None:
            raise PayerNotAcceptedError(payer_id)
        return payer


def enrollment_request(
    payer_id: str, transaction: EnrolledTransaction, provider: BillingProvider
) -> EnrollmentRequest:
    """What the clearinghouse is sent: the billing provider's name, NPI, tax id and address, and
    its billing contact as the one the payer writes to."""
    address = provider.address
    if isinstance(provider, OrganizationBillingProvider):
        name, who = provider.organization_name, {"organization_name": provider.organization_name}
    else:
        name = f"{provider.first_name} {provider.last_name}"
        who = {"first_name": provider.first_name, "last_name": provider.last_name}
    contact = EnrollmentContact(
        email=provider.contact.email,
        phone=provider.contact.phone,
        street=address.lines[0],
        city=address.city,
        state=address.state,
        zip_code=address.zip,
        **who,
    )
    return EnrollmentRequest(
        payer_id=payer_id,
        transaction=transaction,
        provider_name=name,
        provider_npi=provider.npi,
        provider_tax_id=provider.tax_id.number,
        provider_tax_id_kind=provider.tax_id.kind,
        contact=contact,
        notify_email=provider.contact.email,
    )
