"""When a declined off-session charge is tried again: a pure function of the decline code, the
attempt number and the time of the decline.

Hard declines (the card is lost, stolen, closed, refused outright, or the bank wants the
cardholder) are never retried: retrying them does not collect money and can get the practice's
account flagged. Insufficient funds wait at least a day between tries; transient issuer or
processing errors a few hours. Attempts are bounded: after ``MAX_ATTEMPTS`` the payment is given up
and left as an open balance for the practice to follow up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

MAX_ATTEMPTS = 4  # in total, the first one included
STRIPE_KEY_MEMORY = timedelta(hours=23)  # Stripe keeps idempotency keys for at least 24 h

# Never retried. ``authentication_required`` goes to the client's confirmation link instead.
HARD_DECLINES: frozenset[str] = frozenset(
    {
        "lost_card",
        "stolen_card",
        "pickup_card",
        "do_not_honor",
        "do_not_try_again",
        "restricted_card",
        "fraudulent",
        "merchant_blacklist",
        "security_violation",
        "invalid_account",
        "new_account_information_available",
        "card_not_supported",
        "currency_not_supported",
        "transaction_not_allowed",
        "expired_card",
        "incorrect_number",
        "incorrect_cvc",
        "invalid_cvc",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "authentication_required",
        "revocation_of_authorization",
        "revocation_of_all_authorizations",
        "stop_payment_order",
    }
)

# Retried, and how long to wait after a decline before the next try.
RETRY_DELAYS: dict[str, timedelta] = {
    "insufficient_funds": timedelta(days=1),
    "withdrawal_count_limit_exceeded": timedelta(days=1),
    "card_velocity_exceeded": timedelta(days=1),
    "generic_decline": timedelta(hours=4),
    "processing_error": timedelta(hours=4),
    "try_again_later": timedelta(hours=4),
    "issuer_not_available": timedelta(hours=4),
    "reenter_transaction": timedelta(hours=4),
    "approve_with_id": timedelta(hours=4),
}

Action = Literal["retry", "give_up", "final"]


@dataclass(frozen=True)
class RetryDecision:
    """``retry`` at ``at``; ``give_up`` (retryable, but the attempts are used up); ``final`` (a
    decline that is never retried: it stays declined)."""

    action: Action
    at: datetime | None = None


def decline_reason(decline_code: str | None, error_code: str | None) -> str | None:
    """The code the policy looks at: Stripe's ``decline_code`` when it gave one (card_declined
    carries the issuer's reason there), else the error code (processing_error, expired_card)."""
    return decline_code or error_code


def decide(code: str | None, *, attempt: int, declined_at: datetime) -> RetryDecision:
    """What to do after attempt number ``attempt`` (1-based) was declined with ``code``."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    if not code or code in HARD_DECLINES or code not in RETRY_DELAYS:
        return RetryDecision("final")  # unknown codes are not retried: never guess with money
    if attempt >= MAX_ATTEMPTS:
        return RetryDecision("give_up")
    return RetryDecision("retry", declined_at + RETRY_DELAYS[code])


def idempotency_key(payment_id: str, attempt: int) -> str:
    """Stripe's idempotency key for one attempt. Attempt 1 keeps the original key."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    base = f"therabill:charge:{payment_id}"
    return base if attempt == 1 else f"{base}:{attempt}"


def stripe_may_forget(started_at: datetime, now: datetime) -> bool:
    """Whether Stripe may have forgotten the idempotency key of an attempt started at
    ``started_at``: replaying it (or creating its PaymentIntent) could then charge twice."""
    return now - started_at > STRIPE_KEY_MEMORY
