"""The booking payment rules a practice sets: its settings (versioned), one rule per service and
one override per client. A Put replaces; deleting what is not there is a 404."""

from __future__ import annotations

from therabill.bookings.models import (
    AuthorizationEnforcement,
    BookingRequirement,
    BookingSettings,
    ClientBookingRule,
    ServiceBookingRule,
)
from therabill.bookings.store import BookingStore
from therabill.core.clock import Clock


class BookingRules:
    def __init__(self, *, store: BookingStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # -- the practice's settings -----------------------------------------------------------------
    def settings(self, practice_id: str) -> BookingSettings:
        return self._store.settings(practice_id)

    def put_settings(
        self,
        practice_id: str,
        *,
        first_visit: BookingRequirement | None,
        hold_minutes: int,
        expected_version: int | None,
        authorization_enforcement: AuthorizationEnforcement = "warn",
    ) -> BookingSettings:
        """Replace the settings. ``expected_version``: refused (409) if someone changed them since."""
        current = self.settings(practice_id)
        version = current.version if expected_version is None else expected_version
        settings = BookingSettings(
            first_visit=first_visit,
            hold_minutes=hold_minutes,
            authorization_enforcement=authorization_enforcement,
            version=version + 1,
            updated_at=self._clock(),
        )
        self._store.put_settings(practice_id, settings, replaces=version)
        return settings

    # -- per service -----------------------------------------------------------------------------
    def service_rule(self, practice_id: str, service_id: str) -> ServiceBookingRule | None:
        return self._store.service_rule(practice_id, service_id)

    def put_service_rule(
        self,
        practice_id: str,
        service_id: str,
        *,
        rule: BookingRequirement | None,
        first_visit: BookingRequirement | None,
    ) -> ServiceBookingRule:
        stored = ServiceBookingRule(
            service_id=service_id, rule=rule, first_visit=first_visit, updated_at=self._clock()
        )
        self._store.put_service_rule(practice_id, stored)
        return stored

    def delete_service_rule(self, practice_id: str, service_id: str) -> None:
        self._store.delete_service_rule(practice_id, service_id)

    # -- per client ------------------------------------------------------------------------------
    def client_rule(self, practice_id: str, client_id: str) -> ClientBookingRule | None:
        return self._store.client_rule(practice_id, client_id)

    def put_client_rule(
        self, practice_id: str, client_id: str, rule: BookingRequirement
    ) -> ClientBookingRule:
        stored = ClientBookingRule(client_id=client_id, rule=rule, updated_at=self._clock())
        self._store.put_client_rule(practice_id, stored)
        return stored

    def delete_client_rule(self, practice_id: str, client_id: str) -> None:
        self._store.delete_client_rule(practice_id, client_id)
