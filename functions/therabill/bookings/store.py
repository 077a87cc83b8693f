"""The booking items of a practice's partition: the payment rules (``BOOKPAY#``: the practice's
settings, one rule per service, one override per client; a Put replaces) and the slot holds
(``BOOKHOLD#<ses>``, in the sparse ``HOLDEXPIRY`` index by expiry while open)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.bookings.errors import BookingRuleNotFoundError, BookingSettingsChangedError
from therabill.bookings.models import (
    BookingRequirement,
    BookingSettings,
    ClientBookingRule,
    Hold,
    ServiceBookingRule,
)
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.writes import Write
from therabill.sessions.models import BookingPaymentRecord


def _requirement(raw: Any) -> BookingRequirement | None:
    return BookingRequirement.model_validate(raw) if raw else None


def _dump(requirement: BookingRequirement | None) -> dict[str, Any] | None:
    return requirement.model_dump(mode="json", exclude_none=True) if requirement else None


def _hold(item: dict[str, Any]) -> Hold:
    return Hold(
        practice_id=item["practice_id"],
        session_id=item["session_id"],
        client_id=item["client_id"],
        payment_id=item["payment_id"],
        expires_at=parse_iso(item["expires_at"]),
        status=item["status"],
    )


class BookingStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- the practice's settings -------------------------------------------------------------------
    def settings(self, practice_id: str) -> BookingSettings:
        item = self._table.get(keys.practice_pk(practice_id), keys.BOOKING_SETTINGS_SK)
        if not item:
            return BookingSettings()
        return BookingSettings(
            first_visit=_requirement(item.get("first_visit")),
            hold_minutes=item["hold_minutes"],
            authorization_enforcement=item.get("authorization_enforcement", "warn"),
            version=item["version"],
            updated_at=item.get("updated_at"),
        )

    def put_settings(self, practice_id: str, settings: BookingSettings, *, replaces: int) -> None:
        """Write ``settings`` over version ``replaces`` (0: none yet). Changed meanwhile →
        BookingSettingsChangedError with the version there now."""
        assert settings.updated_at is not None
        item: dict[str, Any] = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.BOOKING_SETTINGS_SK,
            "type": "booking_settings",
            "hold_minutes": settings.hold_minutes,
            "authorization_enforcement": settings.authorization_enforcement,
            "version": settings.version,
            "updated_at": iso(settings.updated_at),
        }
        if settings.first_visit is not None:
            item["first_visit"] = _dump(settings.first_visit)
        if replaces == 0:
            condition, values = "attribute_not_exists(PK)", None
        else:
            condition, values = "version = :v", {":v": replaces}
        try:
            self._table.put(item, condition=condition, values=values)
        except ConditionFailed as exc:
            raise BookingSettingsChangedError((exc.current or {}).get("version", 0)) from exc

    # -- per service -------------------------------------------------------------------------------
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

    def put_service_rule(self, practice_id: str, rule: ServiceBookingRule) -> None:
        item: dict[str, Any] = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.booking_service_rule_sk(rule.service_id),
            "type": "booking_service_rule",
            "service_id": rule.service_id,
            "updated_at": iso(rule.updated_at),
        }
        for name, value in (("rule", rule.rule), ("first_visit", rule.first_visit)):
            if value is not None:
                item[name] = _dump(value)
        self._table.put(item)

    def delete_service_rule(self, practice_id: str, service_id: str) -> None:
        self._delete(practice_id, keys.booking_service_rule_sk(service_id))

    # -- per client --------------------------------------------------------------------------------
    def client_rule(self, practice_id: str, client_id: str) -> ClientBookingRule | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.booking_client_rule_sk(client_id))
        if not item:
            return None
        return ClientBookingRule(
            client_id=client_id,
            rule=BookingRequirement.model_validate(item["rule"]),
            updated_at=item["updated_at"],
        )

    def put_client_rule(self, practice_id: str, rule: ClientBookingRule) -> None:
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.booking_client_rule_sk(rule.client_id),
                "type": "booking_client_rule",
                "client_id": rule.client_id,
                "rule": _dump(rule.rule),
                "updated_at": iso(rule.updated_at),
            }
        )

    def delete_client_rule(self, practice_id: str, client_id: str) -> None:
        self._delete(practice_id, keys.booking_client_rule_sk(client_id))

    def _delete(self, practice_id: str, sk: str) -> None:
        """One conditional DeleteItem: nothing there → BookingRuleNotFoundError."""
        try:
            self._table.delete(keys.practice_pk(practice_id), sk, condition="attribute_exists(PK)")
        except ConditionFailed as exc:
            raise BookingRuleNotFoundError(sk) from exc

    # -- slot holds --------------------------------------------------------------------------------
    @staticmethod
    def open_hold(practice_id: str, session_id: str, client_id: str, record: BookingPaymentRecord) -> Write:
        """The write that opens a session's hold, for the transaction that books the session."""
        expires_at = iso(record.hold_expires_at)
        return put_new_write(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.booking_hold_sk(session_id),
                "GSI1PK": keys.BOOKING_HOLDS_GSI,
                "GSI1SK": keys.booking_hold_gsi_sk(expires_at, practice_id, session_id),
                "type": "booking_hold",
                "practice_id": practice_id,
                "session_id": session_id,
                "client_id": client_id,
                "payment_id": record.payment_id,
                "expires_at": expires_at,
                "status": "open",
            }
        )

    def close_hold(self, practice_id: str, session_id: str, *, at: datetime) -> None:
        """Out of the HOLDEXPIRY index (the item stays as a record). Harmless when repeated; a
        hold that does not exist stays absent."""
        with contextlib.suppress(ConditionFailed):
            self._table.update(
                keys.practice_pk(practice_id),
                keys.booking_hold_sk(session_id),
                update="SET #s = :closed, closed_at = :now REMOVE GSI1PK, GSI1SK",
                condition="attribute_exists(PK)",
                names={"#s": "status"},
                values={":closed": "closed", ":now": iso(at)},
            )

    def due_holds(self, now: datetime, limit: int) -> list[Hold]:
        """Open holds expired by ``now``, earliest first, from one page of at most ``limit``."""
        due = iso(now) + "#~"
        page = self._table.query(keys.BOOKING_HOLDS_GSI, index="GSI1", limit=limit)
        holds: list[Hold] = []
        for row in page.items:
            if row["GSI1SK"] > due:
                break  # ordered by expiry: the rest are later
            holds.append(_hold(row))
        return holds
