"""The practice's provider set-up: its billing provider (what claims, eligibility checks and
enrollments name as the provider) and its clinicians' provider records (``clinicians``)."""

from __future__ import annotations

from therabill.core.clock import Clock
from therabill.providers.clinicians import ClinicianProviderService
from therabill.providers.models import BillingProvider, BillingProviderRecord
from therabill.providers.store import ProviderStore


class ProviderService:
    def __init__(self, *, store: ProviderStore, clinicians: ClinicianProviderService, clock: Clock) -> None:
        self.store = store
        self.clinicians = clinicians
        self.clock = clock

    def billing_provider_record(self, practice_id: str) -> BillingProviderRecord | None:
        return self.store.billing_provider(practice_id)

    def billing_provider(self, practice_id: str) -> BillingProvider | None:
        """The practice's billing provider, or None until it is set up."""
        record = self.store.billing_provider(practice_id)
        return record.provider if record else None

    def set_billing_provider(
        self, practice_id: str, provider: BillingProvider, *, by: str, expected_version: int | None
    ) -> BillingProviderRecord:
        """Set (or replace) the billing provider. ``expected_version``: the version read (None when
        there was none); a change meanwhile is a ProviderChangedError, nothing written."""
        record = BillingProviderRecord(
            provider=provider,
            version=(expected_version or 0) + 1,
            updated_at=self.clock(),
            updated_by=by,
        )
        self.store.put_billing_provider(practice_id, record, expected_version=expected_version)
        return record
