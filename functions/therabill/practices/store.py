"""The practice item (``PRACTICE``, in the practice's own partition) and its index by Stripe
account (GSI1): mapping between the domain model and the table, and the conditional writes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError, NotFoundError
from therabill.policies.policy import CancellationPolicy
from therabill.practices.connect import AccountState
from therabill.practices.errors import PracticeChangedError, PracticeExistsError, PracticeNotFoundError
from therabill.practices.models import DEFAULT_SUMMARY_HOURS_BEFORE, Practice, StripeConnection


def to_item(p: Practice) -> dict[str, Any]:
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
    defaults: tuple[tuple[str, Any], ...] = (
        ("summary_hours_before", DEFAULT_SUMMARY_HOURS_BEFORE),
        ("billing_requires_signed_note", False),
        ("auto_billing", True),
        ("autopay_default", True),
        ("billing_cadence", "nightly"),
        ("monthly_billing_day", 1),
    )
    for name, default in defaults:  # stored only when not the default
        if getattr(p, name) != default:
            item[name] = getattr(p, name)
    for name in ("address", "phone"):
        if getattr(p, name):
            item[name] = getattr(p, name)
    days = ("auto_billing_since", "backfill_from", "auto_billing_on_from", "auto_billing_off_from")
    for day in days:  # stored only when set
        if getattr(p, day) is not None:
            item[day] = getattr(p, day).isoformat()
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


def from_item(item: dict[str, Any]) -> Practice:
    stripe = None
    if item.get("stripe_account_id"):
        stripe = StripeConnection(
            account_id=item["stripe_account_id"],
            charges_enabled=item.get("stripe_charges_enabled", False),
            payouts_enabled=item.get("stripe_payouts_enabled", False),
            details_submitted=item.get("stripe_details_submitted", False),
            updated_at=parse_iso(item["stripe_updated_at"]),
        )
    policy = item.get("cancellation_policy")
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
        cancellation_policy=CancellationPolicy.model_validate(policy) if policy else None,
        holidays=dict(item.get("holidays") or {}),
        summary_hours_before=int(item.get("summary_hours_before", DEFAULT_SUMMARY_HOURS_BEFORE)),
        billing_requires_signed_note=bool(item.get("billing_requires_signed_note", False)),
        auto_billing=bool(item.get("auto_billing", True)),
        autopay_default=bool(item.get("autopay_default", True)),
        billing_cadence=item.get("billing_cadence", "nightly"),
        monthly_billing_day=int(item.get("monthly_billing_day", 1)),
        address=item.get("address"),
        phone=item.get("phone"),
        auto_billing_since=_day(item.get("auto_billing_since")),
        backfill_from=_day(item.get("backfill_from")),
        auto_billing_on_from=_day(item.get("auto_billing_on_from")),
        auto_billing_off_from=_day(item.get("auto_billing_off_from")),
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _status_values(state: AccountState, at: datetime) -> dict[str, Any]:
    return {
        ":acct": state.id,
        ":ce": state.charges_enabled,
        ":pe": state.payouts_enabled,
        ":ds": state.details_submitted,
        ":at": iso(at),
        ":one": 1,
    }


class PracticeStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, practice: Practice) -> None:
        try:
            self.table.put_new(to_item(practice))
        except ConditionFailed as exc:
            raise PracticeExistsError("this practice already exists", practice_id=practice.id) from exc

    def get(self, practice_id: str) -> Practice:
        item = self.table.get(keys.practice_pk(practice_id), keys.PRACTICE_SK)
        if not item:
            raise PracticeNotFoundError("practice not found")
        return from_item(item)

    def update(self, practice_id: str, changes: dict[str, Any], *, expected_version: int | None) -> Practice:
        """Set the changed attributes (None removes one); with ``expected_version``, only if nobody
        changed the practice since."""
        try:
            item = self.table.patch(
                keys.practice_pk(practice_id),
                keys.PRACTICE_SK,
                changes,
                expected_version=expected_version,
                what="practice",
            )
        except NotFoundError as exc:
            raise PracticeNotFoundError(exc.message, **exc.details) from exc
        except ConflictError as exc:
            raise PracticeChangedError(exc.message, **exc.details) from exc
        return from_item(item)

    def connect_account(self, practice_id: str, state: AccountState, at: datetime) -> Practice:
        """Record the practice's connected account once; if a concurrent request recorded one
        first, the practice as it holds that one."""
        try:
            item = self.table.update(
                keys.practice_pk(practice_id),
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
                return from_item(exc.current)
            raise PracticeNotFoundError("practice not found") from exc
        return from_item(item)

    def update_account_status(self, practice_id: str, state: AccountState, at: datetime) -> bool:
        """Write the account's status unless the one held is newer than ``at`` (ties write).
        Returns whether it was written."""
        try:
            self.table.update(
                keys.practice_pk(practice_id),
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

    def by_stripe_account(self, account_id: str) -> Practice | None:
        page = self.table.query(keys.stripe_account_gsi(account_id), index="GSI1", limit=1)
        if not page.items:
            return None
        # GSI reads are eventually consistent: read the item itself for the current state.
        return self.get(page.items[0]["id"])
