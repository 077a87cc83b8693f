"""Practices: creation, settings, and the Stripe Connect connection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from therabill.core.cadence import BILLING_DAYS, BillingCadence
from therabill.core.clock import Clock, local_date
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.observability import logger
from therabill.policies.policy import CancellationPolicy, FlatFee
from therabill.practices.calendar import validate_calendar
from therabill.practices.connect import AccountState, ConnectGateway
from therabill.practices.models import SUMMARY_HOURS_RANGE, Practice
from therabill.practices.store import PracticeStore

# Settings whose change moves the practice's nightly schedules (the run and its evening summary).
SCHEDULE_FIELDS = frozenset({"time_zone", "cutoff_hour", "summary_hours_before"})


class PracticeService:
    def __init__(self, *, store: PracticeStore, gateway: ConnectGateway | None, clock: Clock) -> None:
        self._store = store
        self._gateway = gateway
        self._clock = clock
        self._schedule_hooks: list[Callable[[Practice], None]] = []

    def on_schedule_change(self, hook: Callable[[Practice], None]) -> None:
        """Run ``hook`` when a practice is created or its time zone, cutoff or summary hours change
        (the nightly schedules follow). A failing hook is logged: the settings stand, and the next
        change (or a re-sync) fixes the schedule."""
        self._schedule_hooks.append(hook)

    def _schedules_changed(self, practice: Practice) -> None:
        for hook in self._schedule_hooks:
            try:
                hook(practice)
            except Exception as exc:
                logger.warning(
                    "nightly schedule not synced", practice_id=practice.id, error=type(exc).__name__
                )

    def create(
        self,
        practice_id: str,
        *,
        name: str,
        email: str,
        time_zone: str,
        cutoff_hour: int,
        currency: str,
        country: str,
        address: str | None = None,
        phone: str | None = None,
    ) -> Practice:
        practice = Practice(
            id=practice_id,
            name=name,
            email=email,
            time_zone=time_zone,
            cutoff_hour=cutoff_hour,
            currency=currency,
            country=country,
            address=address,
            phone=phone,
            created_at=self._clock(),
            version=1,
        )
        self._store.create(practice)
        self._schedules_changed(practice)
        return practice

    def get(self, practice_id: str) -> Practice:
        return self._store.get(practice_id)

    def of_link(self, claims: dict[str, Any] | None) -> Practice | None:
        """The practice that signed a public link (its claims, verified: ``signed_claims``), to name
        it on the link's error page; None when the link is not ours or the practice is gone."""
        if claims is None or not isinstance(claims.get("p"), str):
            return None
        try:
            return self._store.get(claims["p"])
        except NotFoundError:
            return None

    def update_settings(
        self, practice_id: str, *, expected_version: int | None, changes: dict[str, Any]
    ) -> Practice:
        """Apply a partial update; with ``expected_version``, refuse if someone changed it since."""
        if not changes:
            return self.get(practice_id)
        practice = self._store.update(practice_id, changes, expected_version=expected_version)
        if SCHEDULE_FIELDS & changes.keys():
            self._schedules_changed(practice)
        return practice

    def set_nightly_settings(
        self,
        practice_id: str,
        *,
        holidays: dict[str, str] | None = None,
        summary_hours_before: int | None = None,
        expected_version: int | None = None,
    ) -> Practice:
        """The nightly run's holiday calendar and evening-summary lead time (validated)."""
        changes: dict[str, Any] = {}
        if holidays is not None:
            try:
                changes["holidays"] = validate_calendar(holidays) or None
            except ValueError as exc:
                raise InvalidRequestError(str(exc), field="holidays") from exc
        if summary_hours_before is not None:
            low, high = SUMMARY_HOURS_RANGE
            if not low <= summary_hours_before <= high:
                raise InvalidRequestError("between 1 and 12 hours", field="summary_hours_before")
            changes["summary_hours_before"] = summary_hours_before
        return self.update_settings(practice_id, expected_version=expected_version, changes=changes)

    def set_billing_automation(
        self,
        practice_id: str,
        *,
        auto_billing: bool | None = None,
        autopay_default: bool | None = None,
        billing_cadence: BillingCadence | None = None,
        monthly_billing_day: int | None = None,
        backfill_from: date | None = None,
        expected_version: int | None = None,
    ) -> Practice:
        """Auto-billing on or off, the AutoPay default, the billing cadence and the monthly billing
        day (each only when given). Turning auto-billing on records the day (the practice's local
        date) and from which service date the older unbilled sessions are included
        (``backfill_from``; none: none)."""
        changes: dict[str, Any] = {}
        if backfill_from is not None and auto_billing is not True:
            raise InvalidRequestError("only when turning auto-billing on", field="backfill_from")
        if auto_billing is not None:
            changes["auto_billing"] = auto_billing
            practice = self.get(practice_id)
            changes.update(self._switched(practice, auto_billing, backfill_from))
            if auto_billing != practice.auto_billing:  # switched now: from the version read
                expected_version = expected_version or practice.version
        if autopay_default is not None:
            changes["autopay_default"] = autopay_default
        if billing_cadence is not None:
            changes["billing_cadence"] = billing_cadence
        if monthly_billing_day is not None:
            low, high = BILLING_DAYS
            if not low <= monthly_billing_day <= high:
                raise InvalidRequestError("a day of the month, 1 to 31", field="monthly_billing_day")
            changes["monthly_billing_day"] = monthly_billing_day
        return self.update_settings(practice_id, expected_version=expected_version, changes=changes)

    def _switched(self, practice: Practice, on: bool, backfill_from: date | None) -> dict[str, Any]:
        """What turning auto-billing on or off records: off, the day (what was served before it
        was served under auto-billing); on, the day and the backfill's first date of service."""
        today = local_date(self._clock(), practice.time_zone)
        if not on:  # the period it was on: from when it was last turned on (None: always) until today
            if not practice.auto_billing:
                return {}
            since = practice.auto_billing_since
            return {
                "auto_billing_on_from": since.isoformat() if since else None,
                "auto_billing_off_from": today.isoformat(),
            }
        if backfill_from is not None and backfill_from > today:
            raise InvalidRequestError(f"a date on or before today ({today})", field="backfill_from")
        if practice.auto_billing:
            if backfill_from is not None:
                raise InvalidRequestError("auto-billing is already on", field="backfill_from")
            return {}
        backfill = backfill_from.isoformat() if backfill_from is not None else None
        return {"auto_billing_since": today.isoformat(), "backfill_from": backfill}

    def set_cancellation_policy(self, practice_id: str, policy: CancellationPolicy) -> Practice:
        """Replace the practice's cancellation / no-show policy. Flat fees must be in the practice's
        currency."""
        practice = self.get(practice_id)
        for fee in policy.fees():
            if isinstance(fee, FlatFee) and fee.amount.currency != practice.currency:
                raise InvalidRequestError(
                    f"flat fees must be in the practice's currency ({practice.currency})",
                    field="cancellation_policy",
                )
        return self.update_settings(
            practice_id,
            expected_version=None,
            changes={"cancellation_policy": policy.model_dump(mode="json")},
        )

    # -- Stripe Connect -----------------------------------------------------------------------
    def _require_gateway(self) -> ConnectGateway:
        assert self._gateway is not None, "PracticeService needs a gateway for Stripe calls"
        return self._gateway

    def connect_stripe(self, practice_id: str, *, refresh_url: str, return_url: str) -> str:
        """Create the practice's connected account once, then return a fresh onboarding link."""
        practice = self.get(practice_id)
        gateway = self._require_gateway()
        if practice.stripe is None:
            state = gateway.create_connected_account(
                idempotency_key=f"therabill:account:{practice.id}",
                email=practice.email,
                country=practice.country,
                metadata={"therabill_practice_id": practice.id},
            )
            # Stripe's event times are whole seconds: store ours the same way, so an
            # account.updated from the same second as the creation is not taken for stale.
            # A concurrent request that connected it first wins: its account is used.
            practice = self._store.connect_account(practice.id, state, self._clock().replace(microsecond=0))
        assert practice.stripe is not None
        return gateway.create_account_link(
            account=practice.stripe.account_id, refresh_url=refresh_url, return_url=return_url
        )

    def find_by_stripe_account(self, account_id: str) -> Practice | None:
        return self._store.by_stripe_account(account_id)

    def apply_account_update(self, practice: Practice, state: AccountState, at: datetime) -> bool:
        """Apply an ``account.updated`` event unless a newer one was applied already (ties apply:
        the same snapshot twice is harmless).

        Stripe does not promise order: the event's creation time decides, and an older event than
        the one we hold changes nothing. Returns whether anything changed."""
        return self._store.update_account_status(practice.id, state, at)
