"""The booking payment rules in the table: the practice's settings, one rule item per service and
one override per client, all in the practice's partition. A Put replaces; a delete is one
conditional DeleteItem (404 when there is nothing to delete)."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.bookings.models import (
    BookingRequirement,
    BookingSettings,
    ClientBookingRule,
    ServiceBookingRule,
)
from therabill.core import keys
from therabill.core.clock import Clock, iso
from therabill.core.errors import ConflictError, NotFoundError


def _requirement(raw: Any) -> BookingRequirement | None:
    return BookingRequirement.model_validate(raw) if raw else None


def _dump(requirement: BookingRequirement | None) -> dict[str, Any] | None:
    return requirement.model_dump(mode="json", exclude_none=True) if requirement else None


class BookingRules:
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock

    # -- the practice's settings -----------------------------------------------------------------
    def settings(self, practice_id: str) -> BookingSettings:
        item = self._table.get(keys.practice_pk(practice_id), keys.BOOKING_SETTINGS_SK)
        if not item:
            return BookingSettings()
        return BookingSettings(
            first_visit=_requirement(item.get("first_visit")),
            hold_minutes=item["hold_minutes"],
            version=item["version"],
            updated_at=item.get("updated_at"),
        )

    def put_settings(
        self,
        practice_id: str,
        *,
        first_visit: BookingRequirement | None,
        hold_minutes: int,
        expected_version: int | None,
    ) -> BookingSettings:
        """Replace the settings. ``expected_version``: refused (409) if someone changed them since."""
        current = self.settings(practice_id)
        version = current.version if expected_version is None else expected_version
        settings = BookingSettings(
            first_visit=first_visit, hold_minutes=hold_minutes, version=version + 1, updated_at=self._clock()
        )
        item: dict[str, Any] = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.BOOKING_SETTINGS_SK,
            "type": "booking_settings",
            "hold_minutes": hold_minutes,
            "version": settings.version,
            "updated_at": iso(self._clock()),
        }
        if first_visit is not None:
            item["first_visit"] = _dump(first_visit)
        if version == 0:
            condition, values = "attribute_not_exists(PK)", None
        else:
            condition, values = "version = :v", {":v": version}
        try:
            self._table.put(item, condition=condition, values=values)
        except ConditionFailed as exc:
            raise ConflictError(
                "the booking settings were changed by someone else; reload and retry",
                current_version=(exc.current or {}).get("version", 0),
            ) from exc
        return settings

    # -- per service -----------------------------------------------------------------------------
    def service_rule(self, practice_id: str, service_id: str) -> ServiceBookingRule | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.booking_service_rule_sk(service_id))
        if not item:
            return None
        return ServiceBookingRule(
            service_id=service_id,
            rule=_requirement(item.get("rule")),
            first_visit=_requirement(item.get("first_visit")),
            updated_at=item["updated_at"],
        )

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
        item: dict[str, Any] = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.booking_service_rule_sk(service_id),
            "type": "booking_service_rule",
            "service_id": service_id,
            "updated_at": iso(stored.updated_at),
        }
        for name, value in (("rule", rule), ("first_visit", first_visit)):
            if value is not None:
                item[name] = _dump(value)
        self._table.put(item)
        return stored

    def delete_service_rule(self, practice_id: str, service_id: str) -> None:
        self._delete(practice_id, keys.booking_service_rule_sk(service_id), "booking rule")

    # -- per client ------------------------------------------------------------------------------
    def client_rule(self, practice_id: str, client_id: str) -> ClientBookingRule | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.booking_client_rule_sk(client_id))
        if not item:
            return None
        return ClientBookingRule(
            client_id=client_id,
            rule=BookingRequirement.model_validate(item["rule"]),
            updated_at=item["updated_at"],
        )

    def put_client_rule(
        self, practice_id: str, client_id: str, rule: BookingRequirement
    ) -> ClientBookingRule:
        stored = ClientBookingRule(client_id=client_id, rule=rule, updated_at=self._clock())
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.booking_client_rule_sk(client_id),
                "type": "booking_client_rule",
                "client_id": client_id,
                "rule": _dump(rule),
                "updated_at": iso(stored.updated_at),
            }
        )
        return stored

    def delete_client_rule(self, practice_id: str, client_id: str) -> None:
        self._delete(practice_id, keys.booking_client_rule_sk(client_id), "booking rule")

    def _delete(self, practice_id: str, sk: str, what: str) -> None:
        try:
            self._table.delete(keys.practice_pk(practice_id), sk, condition="attribute_exists(PK)")
        except ConditionFailed as exc:
            raise NotFoundError(f"{what} not found") from exc
