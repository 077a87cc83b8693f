"""What a consent allows: every off-session charge is checked here first."""

from __future__ import annotations

from datetime import datetime

from therabill.cards.errors import ConsentError
from therabill.cards.models import ChargeKind, Consent, ConsentScope
from therabill.core.clock import iso


def describe_limit(scope: ConsentScope) -> str | None:
    return scope.max_amount.format() if scope.max_amount else None


def check_consent(consent: Consent, *, kind: ChargeKind, amount: int, currency: str, now: datetime) -> None:
    """Every off-session charge passes here first."""
    if consent.status != "active":
        raise ConsentError("the card's consent is not active", consent_status=consent.status)
    if consent.scope.expires_at and consent.scope.expires_at <= now:
        raise ConsentError("the card's consent has expired", expired_at=iso(consent.scope.expires_at))
    if kind not in consent.scope.kinds:
        raise ConsentError(
            f"the card's consent does not cover {kind} charges", allowed=list(consent.scope.kinds)
        )
    limit = consent.scope.max_amount
    if limit is not None:
        if limit.currency != currency:
            raise ConsentError("the consent's limit is in another currency")
        if amount > limit.amount:
            raise ConsentError(
                f"the amount exceeds the consent's limit of {limit.format()}", limit=limit.amount
            )
