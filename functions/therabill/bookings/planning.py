"""What a new booking needs before anything is written: the rule that applies (bookings/models.py
decides), the billing party, their card when the rule asks for one on file, and the payment the
slot is held for (its amount from the session's scheduled price)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from therabill.authorizations.errors import AuthorizationRefusedError
from therabill.authorizations.models import Problem
from therabill.authorizations.service import AuthorizationService
from therabill.bookings.models import BookingRequirement, Decision, amount_due, decide
from therabill.bookings.rules import BookingRules
from therabill.cards.models import OnSessionKind
from therabill.cards.service import CardService
from therabill.clients.models import Client
from therabill.clients.service import ClientService
from therabill.core.clock import Clock, local_date
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import derived_id
from therabill.coverage.models import Standing
from therabill.coverage.service import CoverageService
from therabill.practices.models import Practice
from therabill.services.catalog import ServiceCatalog
from therabill.services.models import ServiceType
from therabill.services.pricing import price_session
from therabill.sessions.models import BookingPaymentRecord, Session, self_pay
from therabill.sessions.service import SessionService

NO_CARD = "this booking requires a card on file; the payer has none"
# What staff read when a booking meets the client's authorization (no code, no number).
AUTHORIZATION_WORDS: dict[str, str] = {
    "authorization_missing": "the payer requires an authorization and the client has none for this visit",
    "authorization_expired": "no authorization of the client covers this date (past its end, or not begun)",
    "authorization_used_up": "the client's authorized visits are used up (counting sessions already booked)",
}
_PENDING = ("awaiting_payment", "booked", "checked_in")  # booked, not yet completed


@dataclass(frozen=True)
class BookingSlot:
    """The booking asked for: who, what, with whom, when."""

    session_id: str
    client_id: str
    service_id: str
    clinician_id: str
    start: datetime
    end: datetime | None
    self_pay: bool = False  # booked as cash-pay: the client pays, whatever their coverage


@dataclass(frozen=True)
class Plan:
    decision: Decision
    record: BookingPaymentRecord | None  # the payment the slot is held for, if any
    authorization: Problem | None = None  # the warning: what the visit meets of the authorization


class BookingPlanner:
    def __init__(
        self,
        *,
        rules: BookingRules,
        sessions: SessionService,
        catalog: ServiceCatalog,
        clients: ClientService,
        coverage: CoverageService,
        authorizations: AuthorizationService,
        cards: CardService,
        clock: Clock,
    ) -> None:
        self._authorizations = authorizations
        self._rules = rules
        self._coverage = coverage
        self._sessions = sessions
        self._catalog = catalog
        self._clients = clients
        self._cards = cards
        self._clock = clock

    def requirement_for(
        self,
        practice_id: str,
        client: Client,
        service_id: str,
        start: datetime,
        session_id: str | None = None,
        *,
        insured: bool,
    ) -> Decision:
        earlier = [
            s
            for s in self._sessions.list_for_client(practice_id, client.id)
            if s.status not in ("cancelled", "released") and s.scheduled_start < start and s.id != session_id
        ]
        return decide(
            settings=self._rules.settings(practice_id),
            service_rule=self._rules.service_rule(practice_id, service_id),
            client_rule=self._rules.client_rule(practice_id, client.id),
            first_visit=not earlier,
            insured=insured,
        )

    def plan(self, practice: Practice, slot: BookingSlot, payer_id: str | None) -> Plan:
        """The rule for this booking and what it takes; refused (409) when the billing party has
        no usable card for a card-on-file rule or the practice cannot take the payment yet."""
        client = self._clients.get(practice.id, slot.client_id)
        service = self._catalog.get(practice.id, slot.service_id)
        standing = self._coverage.standing_at(practice.id, client, slot.start)
        insured = standing.insured and not slot.self_pay
        problem = self._authorization_problem(practice, standing, service, slot) if insured else None
        if problem is not None and self._rules.settings(practice.id).authorization_enforcement == "refuse":
            raise AuthorizationRefusedError(
                f"{AUTHORIZATION_WORDS[problem]}; book the visit as self-pay instead", reason=problem
            )
        decision = self.requirement_for(practice.id, client, service.id, slot.start, insured=insured)
        requirement = decision.requirement
        party = self._clients.billing_party(practice.id, slot.client_id, payer_id)
        if requirement.kind == "card_on_file":
            self._require_card(practice.id, slot.client_id, party.owner_id)
        record: BookingPaymentRecord | None = None
        if requirement.takes_payment:
            record = self._payment_record(practice, slot, requirement)
            if record is not None:
                record = record.model_copy(update={"owner_id": party.owner_id})
                if practice.stripe is None or not practice.stripe.charges_enabled:
                    raise ConflictError("the practice's Stripe account cannot take booking payments yet")
        return Plan(decision, record, problem)

    def _authorization_problem(
        self, practice: Practice, standing: Standing, service: ServiceType, slot: BookingSlot
    ) -> Problem | None:
        """What an insured visit meets of the client's authorization, when the primary coverage's
        payer requires one: the client's other sessions not yet completed count against it (by
        their scheduled length, where it counts units)."""
        primary = standing.primary
        if primary is None or not primary.authorization_required:
            return None
        tz = practice.time_zone
        pending = [
            (local_date(s.scheduled_start, tz), _seconds(s.scheduled_start, s.scheduled_end))
            for s in self._sessions.list_for_client(practice.id, slot.client_id)
            if _counts_against(s, slot.session_id)
        ]
        end = slot.end or slot.start + timedelta(minutes=service.default_duration_minutes)
        return self._authorizations.booking_problem(
            practice.id,
            coverage_id=primary.id,
            client_id=slot.client_id,
            day=local_date(slot.start, tz),
            cpt_code=service.cpt_code,
            pending=pending,
            seconds=_seconds(slot.start, end),
        )

    def _payment_record(
        self, practice: Practice, slot: BookingSlot, requirement: BookingRequirement
    ) -> BookingPaymentRecord | None:
        service = self._catalog.get(practice.id, slot.service_id)
        end = slot.end or slot.start + timedelta(minutes=service.default_duration_minutes)
        rule = self._catalog.get_rule(practice.id, slot.client_id, slot.service_id)
        price = price_session(service, rule, actual_start=slot.start, actual_end=end)
        if price.not_billed:
            return None
        amount = amount_due(requirement, price.amount)
        if amount.amount <= 0:
            return None
        hold = self._rules.settings(practice.id).hold_minutes
        return BookingPaymentRecord(
            kind=cast(OnSessionKind, requirement.kind),
            amount=amount,
            payment_id=derived_id("pay", practice.id, f"booking:{slot.session_id}"),
            owner_id=slot.client_id,
            # Never held past the session's own start: an unpaid slot is released by then.
            hold_expires_at=min(self._clock() + timedelta(minutes=hold), slot.start),
            status="awaiting",
        )

    def _require_card(self, practice_id: str, client_id: str, owner_id: str) -> None:
        party = self._clients.billing_party(practice_id, client_id, owner_id)
        if not party.default_card_id:
            raise ConflictError(NO_CARD, requirement="card_on_file")
        try:
            card = self._cards.get_card(practice_id, client_id, party.default_card_id)
        except NotFoundError as exc:
            raise ConflictError(NO_CARD, requirement="card_on_file") from exc
        consent = self._cards.get_consent(practice_id, card.consent_id)
        if card.status != "active" or consent.status != "active":
            raise ConflictError(
                "this booking requires a card on file with an active consent", requirement="card_on_file"
            )
        now = self._clock()
        if consent.scope.expires_at is not None and consent.scope.expires_at <= now:
            raise ConflictError("the card's consent has expired", requirement="card_on_file")


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def _counts_against(session: Session, booking_id: str) -> bool:
    """A session booked and not yet completed, not cash-pay, not this booking's own."""
    return session.status in _PENDING and not self_pay(session) and session.id != booking_id
