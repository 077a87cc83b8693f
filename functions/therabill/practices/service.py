"""Practices: creation, settings, and the Stripe Connect connection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import AlreadyExistsError, InvalidRequestError, NotFoundError
from therabill.payments.gateway import AccountState, PaymentGateway
from therabill.policies.cancellation import CancellationPolicy, FlatFee
from therabill.practices.models import Practice, StripeConnection


def _to_item(p: Practice) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(p.id),
        "SK": keys.PRACTICE_SK,
        "type": "practice",
        "id": p.id,
        "name": p.name,
        "email": p.email,
        "time_zone": p.time_zone,
        "cutoff_hour": p.cutoff_hour,
        "currency": p.currency,
        "country": p.country,
        "created_at": iso(p.created_at),
        "version": p.version,
    }
    if p.cancellation_policy is not None:
        item["cancellation_policy"] = p.cancellation_policy.model_dump(mode="json")
    if p.holidays:
        item["holidays"] = dict(p.holidays)
    if p.summary_hours_before != 3:
        item["summary_hours_before"] = p.summary_hours_before
    if p.billing_requires_signed_note:
        item["billing_requires_signed_note"] = True
    if p.stripe:
        item.update(
            {
                "stripe_account_id": p.stripe.account_id,
                "stripe_charges_enabled": p.stripe.charges_enabled,
                "stripe_payouts_enabled": p.stripe.payouts_enabled,
                "stripe_details_submitted": p.stripe.details_submitted,
                "stripe_updated_at": iso(p.stripe.updated_at),
                "GSI1PK": keys.stripe_account_gsi(p.stripe.account_id),
                "GSI1SK": keys.PRACTICE_SK,
            }
        )
    return item


def _from_item(item: dict[str, Any]) -> Practice:
    stripe = None
    if item.get("stripe_account_id"):
        stripe = StripeConnection(
            account_id=item["stripe_account_id"],
            charges_enabled=item.get("stripe_charges_enabled", False),
            payouts_enabled=item.get("stripe_payouts_enabled", False),
            details_submitted=item.get("stripe_details_submitted", False),
            updated_at=parse_iso(item["stripe_updated_at"]),
        )
    return Practice(
        id=item["id"],
        name=item["name"],
        email=item["email"],
        time_zone=item["time_zone"],
        cutoff_hour=item["cutoff_hour"],
        currency=item["currency"],
        country=item["country"],
        created_at=parse_iso(item["created_at"]),
        version=item["version"],
        stripe=stripe,
        cancellation_policy=CancellationPolicy.model_validate(item["cancellation_policy"])
        if item.get("cancellation_policy")
        else None,
        holidays=dict(item.get("holidays") or {}),
        summary_hours_before=int(item.get("summary_hours_before", 3)),
        billing_requires_signed_note=bool(item.get("billing_requires_signed_note", False)),
    )


def _status_values(state: AccountState, at: datetime) -> dict[str, Any]:
    return {
        ":acct": state.id,
        ":ce": state.charges_enabled,
        ":pe": state.payouts_enabled,
        ":ds": state.details_submitted,
        ":at": iso(at),
        ":one": 1,
    }


# Settings whose change moves the practice's nightly schedules (the run and its evening summary).
SCHEDULE_FIELDS = frozenset({"time_zone", "cutoff_hour", "summary_hours_before"})


class PracticeService:
    def __init__(self, table: Table, gateway: PaymentGateway | None, clock: Clock) -> None:
        self._table = table
        self._gateway = gateway
        self._clock = clock
        self._schedule_hooks: list[Callable[[Practice], None]] = []

    def on_schedule_change(self, hook: Callable[[Practice], None]) -> None:
        """Run ``hook`` when a practice is created or its time zone, cutoff or summary hours change
        (the nightly schedules follow). A failing hook is logged: the settings stand, and the next
        change (or a re-sync) fixes the schedule."""
        self._schedule_hooks.append(hook)

    def _schedules_changed(self, practice: Practice) -> None:
        from therabill.observability import logger

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
    ) -> Practice:
        practice = Practice(
            id=practice_id,
            name=name,
            email=email,
            time_zone=time_zone,
            cutoff_hour=cutoff_hour,
            currency=currency,
            country=country,
            created_at=self._clock(),
            version=1,
        )
        try:
            self._table.put_new(_to_item(practice))
        except ConditionFailed as exc:
            raise AlreadyExistsError("this practice already exists", practice_id=practice_id) from exc
        self._schedules_changed(practice)
        return practice

    def get(self, practice_id: str) -> Practice:
        item = self._table.get(keys.practice_pk(practice_id), keys.PRACTICE_SK)
        if not item:
            raise NotFoundError("practice not found")
        return _from_item(item)

    def update_settings(
        self, practice_id: str, *, expected_version: int | None, changes: dict[str, Any]
    ) -> Practice:
        """Apply a partial update; with ``expected_version``, refuse if someone changed it since."""
        if not changes:
            return self.get(practice_id)
        item = self._table.patch(
            keys.practice_pk(practice_id),
            keys.PRACTICE_SK,
            changes,
            expected_version=expected_version,
            what="practice",
        )
        practice = _from_item(item)
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
        from therabill.nightly.models import validate_calendar

        changes: dict[str, Any] = {}
        if holidays is not None:
            try:
                changes["holidays"] = validate_calendar(holidays) or None
            except ValueError as exc:
                raise InvalidRequestError(str(exc), field="holidays") from exc
        if summary_hours_before is not None:
            if not 1 <= summary_hours_before <= 12:
                raise InvalidRequestError("between 1 and 12 hours", field="summary_hours_before")
            changes["summary_hours_before"] = summary_hours_before
        return self.update_settings(practice_id, expected_version=expected_version, changes=changes)

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
    def _require_gateway(self) -> PaymentGateway:
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
            practice = self._store_account(practice, state, self._clock().replace(microsecond=0))
        assert practice.stripe is not None
        return gateway.create_account_link(
            account=practice.stripe.account_id, refresh_url=refresh_url, return_url=return_url
        )

    def _store_account(self, practice: Practice, state: AccountState, at: datetime) -> Practice:
        try:
            item = self._table.update(
                keys.practice_pk(practice.id),
                keys.PRACTICE_SK,
                update=(
                    "SET stripe_account_id = :acct, stripe_charges_enabled = :ce, "
                    "stripe_payouts_enabled = :pe, stripe_details_submitted = :ds, "
                    "stripe_updated_at = :at, GSI1PK = :gpk, GSI1SK = :gsk ADD #version :one"
                ),
                condition="attribute_exists(PK) AND attribute_not_exists(stripe_account_id)",
                names={"#version": "version"},
                values={
                    **_status_values(state, at),
                    ":gpk": keys.stripe_account_gsi(state.id),
                    ":gsk": keys.PRACTICE_SK,
                },
            )
        except ConditionFailed as exc:
            if exc.current and exc.current.get("stripe_account_id"):
                return _from_item(exc.current)  # a concurrent request connected it first
            raise NotFoundError("practice not found") from exc
        return _from_item(item)

    def find_by_stripe_account(self, account_id: str) -> Practice | None:
        page = self._table.query(keys.stripe_account_gsi(account_id), index="GSI1", limit=1)
        if not page.items:
            return None
        # GSI reads are eventually consistent: read the item itself for the current state.
        return self.get(page.items[0]["id"])

    def apply_account_update(self, practice: Practice, state: AccountState, at: datetime) -> bool:
        """Apply an ``account.updated`` event unless a newer one was applied already (ties apply:
        the same snapshot twice is harmless).

        Stripe does not promise order: the event's creation time decides, and an older event than
        the one we hold changes nothing. Returns whether anything changed."""
        try:
            self._table.update(
                keys.practice_pk(practice.id),
                keys.PRACTICE_SK,
                update=(
                    "SET stripe_charges_enabled = :ce, stripe_payouts_enabled = :pe, "
                    "stripe_details_submitted = :ds, stripe_updated_at = :at ADD #version :one"
                ),
                condition="stripe_account_id = :acct AND stripe_updated_at <= :at",
                names={"#version": "version"},
                values=_status_values(state, at),
            )
        except ConditionFailed:
            return False
        return True
