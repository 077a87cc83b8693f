"""AutoPay per billing party: whether the card on file is charged for what the billing party owes
(on) or the invoice is sent to them and never charged (off). Each billing party (the client, or a
billing contact under split billing) may choose; otherwise the practice's default holds.

AutoPay can be turned on only where a charge can happen: the practice takes charges, the billing
party has an active default card, and its consent is in force and covers session charges. The
refusal says which is missing (``REASONS``). Whatever the choice, every charge still checks the
consent for its own kind and amount (``check_consent``).
"""

from __future__ import annotations

from dataclasses import dataclass

from therabill.cards.errors import AutoPayRefusedError, ConsentNotFoundError
from therabill.cards.service import CardService
from therabill.clients.models import BillingParty
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService

REASONS: dict[str, str] = {
    "practice_cannot_charge": "the practice's Stripe account cannot take charges yet",
    "no_card": "there is no card on file to charge",
    "consent_not_in_force": "the card's consent is revoked or has expired",
    "consent_excludes_session_fees": "the card's consent does not cover session charges",
}


@dataclass(frozen=True)
class AutoPayState:
    party: BillingParty
    practice_default: bool
    blocked: str | None  # why the card cannot be charged for sessions now (a code of REASONS)

    @property
    def on(self) -> bool:
        """AutoPay as chosen (the party's own choice, else the practice's default)."""
        return self.party.autopay_on(self.practice_default)


class AutoPay:
    def __init__(
        self, *, cards: CardService, clients: ClientService, practices: PracticeService, clock: Clock
    ) -> None:
        self._cards = cards
        self._clients = clients
        self._practices = practices
        self._clock = clock

    def state(self, practice_id: str, client_id: str, owner_id: str | None) -> AutoPayState:
        practice = self._practices.get(practice_id)
        party = self._clients.billing_party(practice_id, client_id, owner_id)
        return AutoPayState(party, practice.autopay_default, self._blocked(practice, party))

    def choose(
        self,
        practice_id: str,
        client_id: str,
        owner_id: str | None,
        *,
        enabled: bool | None,
        expected_version: int | None,
    ) -> AutoPayState:
        """The billing party's choice (None: the practice's default). Turning it on where no charge
        can happen is refused with the reason, and nothing is written."""
        state = self.state(practice_id, client_id, owner_id)
        if enabled is True and state.blocked is not None:
            raise AutoPayRefusedError(
                f"AutoPay cannot be turned on: {REASONS[state.blocked]}",
                field="enabled",
                reason=state.blocked,
            )
        party = self._clients.set_autopay(
            practice_id, state.party, enabled, expected_version=expected_version
        )
        return AutoPayState(party, state.practice_default, state.blocked)

    def _blocked(self, practice: Practice, party: BillingParty) -> str | None:
        if practice.stripe is None or not practice.stripe.charges_enabled:
            return "practice_cannot_charge"
        card = self._cards.find_card(practice.id, party.client_id, party.default_card_id or "")
        if card is None or card.status != "active":
            return "no_card"
        try:
            consent = self._cards.get_consent(practice.id, card.consent_id)
        except ConsentNotFoundError:
            return "consent_not_in_force"
        expired = consent.scope.expires_at is not None and consent.scope.expires_at <= self._clock()
        if consent.status != "active" or expired:
            return "consent_not_in_force"
        if "session_fee" not in consent.scope.kinds:
            return "consent_excludes_session_fees"
        return None
