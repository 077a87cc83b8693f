"""The practice's notice of a saved card: who saved it (the billing party, and the client when that
is a billing contact), the card's brand and last four, and what its consent covers. Staff-facing:
no clinical detail."""

from __future__ import annotations

from therabill.cards.models import Card, Consent
from therabill.clients.models import BillingParty
from therabill.core.clock import local_date
from therabill.notifications.mailer import Email
from therabill.practices.models import Practice

KIND_WORDS = {
    "copay": "copays",
    "session_fee": "session fees",
    "cancellation_fee": "cancellation and no-show fees",
    "balance": "balances",
    "product": "purchases",
}


def scope_words(consent: Consent, time_zone: str) -> list[str]:
    """What the consent covers, one line each: the kinds, the limit per charge, the expiry."""
    scope = consent.scope
    limit = scope.max_amount.format() if scope.max_amount else "no limit"
    until = local_date(scope.expires_at, time_zone).isoformat() if scope.expires_at else "no expiry"
    return [
        f"It may be charged for: {', '.join(KIND_WORDS[k] for k in scope.kinds)}.",
        f"Most per charge: {limit}.",
        f"Consent expires: {until}.",
    ]


def card_saved(
    practice: Practice, party: BillingParty, client_name: str, card: Card, consent: Consent
) -> Email:
    who = (
        party.name
        if party.owner_id == party.client_id
        else f"{party.name} (billing contact of {client_name})"
    )
    brand = card.brand.replace("_", " ").title()
    lines = [
        f"{who} saved a card on file with {practice.name}: {brand} ending in {card.last4}, "
        f"signed by {consent.signer_name}.",
        *scope_words(consent, practice.time_zone),
        "",
        "The consent record and the card are on the client's page in Therabill.",
    ]
    return Email(
        to=practice.email, subject=f"Card saved: {brand} ending in {card.last4}", text="\n".join(lines)
    )
