"""Insurance: providers, coverage, payers, authorizations, the clearinghouse, eligibility."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from therabill.core.errors import DependencyUnavailableError
from therabill.wiring.base import Base

if TYPE_CHECKING:
    from therabill.authorizations.service import AuthorizationService
    from therabill.clearinghouse.port import Clearinghouse
    from therabill.clearinghouse.store import PracticeControlNumbers, X12CounterStore
    from therabill.coverage.card_images import CardImages
    from therabill.coverage.service import CoverageService
    from therabill.eligibility.batch import EligibilityBatch
    from therabill.eligibility.ports import CheckRequests, DocumentStore
    from therabill.eligibility.service import EligibilityService
    from therabill.payers.service import PayerService
    from therabill.providers.service import ProviderService


class Insurance(Base):
    @cached_property
    def card_images(self) -> CardImages:
        from therabill.adapters.s3 import S3Pictures
        from therabill.coverage.card_images import CardImages

        bucket = self.settings.documents_bucket
        if not bucket:
            raise DependencyUnavailableError("pictures of insurance cards are not set up here")
        return CardImages(
            coverage=self.coverage, storage=S3Pictures(self._client("s3"), bucket), clock=self.clock
        )

    @cached_property
    def providers(self) -> ProviderService:
        from therabill.providers.clinicians import ClinicianProviderService
        from therabill.providers.service import ProviderService
        from therabill.providers.store import ProviderStore
        from therabill.providers.store.clinicians import ClinicianProviderStore

        clinicians = ClinicianProviderService(
            store=ClinicianProviderStore(self.table), staff=self.staff, clock=self.clock
        )
        return ProviderService(store=ProviderStore(self.table), clinicians=clinicians, clock=self.clock)

    @cached_property
    def payers(self) -> PayerService:
        from therabill.payers.service import PayerService
        from therabill.payers.store import PayerStore

        return PayerService(
            store=PayerStore(self.table),
            clearinghouse=self.clearinghouse,
            providers=self.providers,
            clock=self.clock,
        )

    @cached_property
    def coverage(self) -> CoverageService:
        from therabill.coverage.service import CoverageService
        from therabill.coverage.store import CoverageStore

        return CoverageService(
            store=CoverageStore(self.table), clients=self.clients, practices=self.practices, clock=self.clock
        )

    @cached_property
    def authorizations(self) -> AuthorizationService:
        from therabill.authorizations.service import AuthorizationService
        from therabill.authorizations.store import AuthorizationStore

        return AuthorizationService(
            store=AuthorizationStore(self.table),
            coverage=self.coverage,
            clients=self.clients,
            practices=self.practices,
            clock=self.clock,
        )

    # -- the clearinghouse -------------------------------------------------------------------
    @cached_property
    def clearinghouse(self) -> Clearinghouse:
        """Stedi in AWS; locally the sandbox clearinghouse, which speaks Stedi's API (tests may
        assign their own)."""
        from therabill.adapters.http_client import RetryingClient, RetryPolicy
        from therabill.adapters.stedi import StediClearinghouse, StediEndpoints

        url = self.settings.clearinghouse_url
        # A real-time check waits on the payer: two tries of at most 6 s (and 0.5 s between) fit
        # the API functions' 15 s, so the caller gets an answer or "retry later" in time.
        client = RetryingClient(timeout_seconds=6, retry=RetryPolicy(attempts=2, backoff_seconds=0.5))
        return StediClearinghouse(
            self._stedi_key,
            endpoints=StediEndpoints.at(url) if url else None,
            client=client,
        )

    def _stedi_key(self) -> str:
        key = self.secrets.stedi_api_key
        if not key and self.settings.clearinghouse_url:
            return "sandbox"  # the sandbox takes any key
        if not key:
            from therabill.clearinghouse.errors import ClearinghouseUnavailableError

            raise ClearinghouseUnavailableError("any call: no clearinghouse key is configured")
        return key

    @cached_property
    def x12_counters(self) -> X12CounterStore:
        from therabill.clearinghouse.store import X12CounterStore

        return X12CounterStore(self.table)

    def control_numbers(self, practice_id: str) -> PracticeControlNumbers:
        """The practice's X12 control numbers, for the x12 writer."""
        from therabill.clearinghouse.store import PracticeControlNumbers

        return PracticeControlNumbers(self.x12_counters, practice_id)

    # -- eligibility (270/271) -----------------------------------------------------------------
    @cached_property
    def eligibility_documents(self) -> DocumentStore:
        """The raw 271s, in the private documents bucket (tests may assign their own)."""
        from therabill.adapters.s3 import S3Documents

        bucket = self.settings.documents_bucket
        assert bucket, "eligibility checks need the documents bucket"
        return S3Documents(self._client("s3"), bucket)

    @cached_property
    def eligibility(self) -> EligibilityService:
        from therabill.eligibility.service import EligibilityService
        from therabill.eligibility.store import EligibilityStore

        return EligibilityService(
            store=EligibilityStore(self.table),
            clients=self.clients,
            coverage=self.coverage,
            practices=self.practices,
            providers=self.providers,
            clearinghouse=lambda: self.clearinghouse,
            documents=lambda: self.eligibility_documents,
            control_numbers=self.control_numbers,
            clock=self.clock,
        )

    @cached_property
    def eligibility_batch(self) -> EligibilityBatch:
        from therabill.eligibility.batch import EligibilityBatch

        return EligibilityBatch(
            checks=self.eligibility,
            sessions=self.sessions,
            clients=self.clients,
            coverage=self.coverage,
            practices=self.practices,
            clock=self.clock,
        )

    def practice_ids(self) -> list[str]:
        """Every practice, from the practices' nightly run schedules (never a Scan)."""
        from therabill.adapters.scheduler import NightlySchedules

        group = self.settings.scheduler_group
        assert group, "the practices are listed from the schedule group"
        return NightlySchedules(
            self._client("scheduler"), group=group, target_arn="", role_arn=""
        ).practice_ids()

    @cached_property
    def eligibility_requests(self) -> CheckRequests | None:
        """One-time schedules that check a coverage added or changed (None when the scheduler or
        the eligibility function is not configured: no check is asked for)."""
        scheduler, target = self.settings.scheduler, self.settings.eligibility_target_arn
        if scheduler is None or not target:
            return None
        from therabill.adapters.scheduler import EligibilitySchedules

        return EligibilitySchedules(
            self._client("scheduler"), group=scheduler.group, target_arn=target, role_arn=scheduler.role_arn
        )
