"""The conditional updates that move a payment from one state to the next, as values.

A payment sits in at most one of its GSI1 indexes at a time: pending (PENDINGPAY, by its attempt's
start), due for a retry (RETRYDUE, by the retry's due time), or found by its PaymentIntent (PI#,
disputes name only the PaymentIntent). Every move below says where it goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from therabill.core import keys
from therabill.core.clock import iso
from therabill.payments.models import OutcomeFacts, Payment
from therabill.payments.retries import RetryDecision


@dataclass
class Update:
    """One UpdateItem of a payment: what it sets and removes, on which condition."""

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    condition: str = ""
    names: dict[str, str] = field(default_factory=lambda: {"#s": "status"})

    @property
    def expression(self) -> str:
        return "SET " + ", ".join(self.sets) + (" REMOVE " + ", ".join(self.removes) if self.removes else "")

    def set_fields(self, fields: dict[str, str | None]) -> None:
        for name, value in fields.items():
            if value is not None:
                self.sets.append(f"{name} = :{name}")
                self.values[f":{name}"] = value

    def index(self, gsi_pk: str, gsi_sk: str) -> None:
        self.sets += ["GSI1PK = :gpk", "GSI1SK = :gsk"]
        self.values[":gpk"] = gsi_pk
        self.values[":gsk"] = gsi_sk


def attempt_condition(attempt: int, values: dict[str, Any]) -> str:
    """The payment is still at attempt ``attempt``."""
    values[":attempt"] = attempt
    if attempt == 1:  # items written before attempts were numbered have no attribute
        return "(attribute_not_exists(attempt) OR attempt = :attempt)"
    return "attempt = :attempt"


def outcome_fields(facts: OutcomeFacts) -> dict[str, str | None]:
    """The attributes an outcome's facts are kept in."""
    return {
        "payment_intent_id": facts.payment_intent_id,
        "error_code": facts.error_code,
        "decline_code": facts.decline_code,
        "failure_message": facts.message,
    }


def move(
    payment_id: str, status: str, fields: dict[str, str | None], clear: tuple[str, ...], now: datetime
) -> Update:
    """Set the status and the given fields, unless the payment has succeeded (success is final).
    With a PaymentIntent, into its lookup; out of the pending index and the retry schedule."""
    u = Update(sets=["#s = :s", "updated_at = :now"], removes=list(clear))
    u.values.update({":s": status, ":now": iso(now), ":done": "succeeded"})
    u.set_fields(fields)
    if fields.get("payment_intent_id"):
        u.index(keys.payment_intent_gsi(str(fields["payment_intent_id"])), keys.payment_sk(payment_id))
    else:
        u.removes += ["GSI1PK", "GSI1SK"]
    u.removes.append("next_retry_at")
    u.condition = "attribute_exists(PK) AND #s <> :done"
    return u


def decline(
    ref: tuple[str, str], attempt: int, facts: OutcomeFacts, decision: RetryDecision, now: datetime
) -> Update:
    """Record a decline of attempt ``attempt`` of the payment ``ref`` (practice id, payment id):
    declined (a retry due, or final) or failed (given up). Conditioned on the attempt it belongs
    to and, with a PaymentIntent, on not being this very decline again (a replay)."""
    practice_id, payment_id = ref
    status = "failed" if decision.action == "give_up" else "declined"
    u = Update(sets=["#s = :s", "updated_at = :now"])
    u.values.update({":s": status, ":now": iso(now), ":done": "succeeded"})
    for name, value in outcome_fields(facts).items():
        if value is not None:
            u.sets.append(f"{name} = :{name}")
            u.values[f":{name}"] = value
        elif name != "payment_intent_id":
            u.removes.append(name)
    _place_after_decline(u, decision, practice_id, payment_id, facts.payment_intent_id)
    u.condition = "attribute_exists(PK) AND #s <> :done AND " + attempt_condition(attempt, u.values)
    if facts.payment_intent_id:  # the same decline again (a replay) is not a new decline
        u.condition += (
            " AND (NOT (#s IN (:declined, :failed)) OR attribute_not_exists(payment_intent_id)"
            " OR payment_intent_id <> :payment_intent_id)"
        )
        u.values[":declined"] = "declined"
        u.values[":failed"] = "failed"
    return u


def _place_after_decline(
    u: Update, decision: RetryDecision, practice_id: str, payment_id: str, payment_intent_id: str | None
) -> None:
    """Where a declined payment sits in GSI1: the retry schedule while a retry is due, else the
    PaymentIntent lookup (or nowhere)."""
    if decision.action == "retry":
        assert decision.at is not None
        u.sets.append("next_retry_at = :next")
        u.values[":next"] = iso(decision.at)
        u.index(keys.RETRY_DUE_GSI, keys.retry_due_gsi_sk(iso(decision.at), practice_id, payment_id))
        return
    u.removes.append("next_retry_at")
    if payment_intent_id:
        u.index(keys.payment_intent_gsi(payment_intent_id), keys.payment_sk(payment_id))
    else:
        u.removes += ["GSI1PK", "GSI1SK"]


def next_attempt(practice_id: str, payment: Payment, record: dict[str, Any], now: datetime) -> Update:
    """Start attempt n+1 of a declined payment (still at attempt n): pending again, back in the
    pending index, the finished attempt appended to ``attempts``."""
    u = Update(
        sets=[
            "#s = :pending",
            "attempt = :n",
            "attempt_started_at = :now",
            "updated_at = :now",
            "GSI1PK = :gpk",
            "GSI1SK = :gsk",
            "attempts = list_append(if_not_exists(attempts, :empty), :rec)",
        ],
        removes=["next_retry_at"],
    )
    u.values.update(
        {
            ":pending": "pending",
            ":declined": "declined",
            ":n": payment.attempt + 1,
            ":now": iso(now),
            ":gpk": keys.PENDING_PAYMENTS_GSI,
            ":gsk": keys.pending_payment_gsi_sk(iso(now), practice_id, payment.id),
            ":rec": [record],
            ":empty": [],
        }
    )
    u.condition = "#s = :declined AND " + attempt_condition(payment.attempt, u.values)
    return u


def await_client(payment_id: str, payment_intent_id: str, now: datetime) -> Update:
    """A pending on-session payment got its PaymentIntent: it waits for the client to pay it."""
    u = Update(sets=["#s = :awaiting", "payment_intent_id = :pi", "updated_at = :now"])
    u.values.update(
        {":awaiting": "awaiting_client", ":pending": "pending", ":pi": payment_intent_id, ":now": iso(now)}
    )
    u.index(keys.payment_intent_gsi(payment_intent_id), keys.payment_sk(payment_id))
    u.condition = "#s = :pending"
    return u


def cancel(payment_intent_id: str, now: datetime) -> Update:
    """Only an on-session payment still waiting on that PaymentIntent is cancelled."""
    u = Update(sets=["#s = :canceled", "updated_at = :now"])
    u.values.update(
        {
            ":canceled": "canceled",
            ":awaiting": "awaiting_client",
            ":pending": "pending",
            ":pi": payment_intent_id,
            ":now": iso(now),
        }
    )
    u.condition = "#s IN (:awaiting, :pending) AND payment_intent_id = :pi"
    return u
