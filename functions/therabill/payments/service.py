"""Payments: the one service other capabilities, the API and the webhooks call. It delegates to
the parts, each one concern, read in this order:

* ``charges``   charging a saved card off-session, exactly once;
* ``attempts``  one call to Stripe for a pending payment (first try, retry, reconciliation);
* ``intents``   payments the client makes on a page (deposits, invoices, pay links);
* ``outcomes``  recording what Stripe says: success (ledger, receipt, hooks) or not;
* ``declines``  recording a decline; ``retries`` (the policy) and ``retry_run`` (the due retries);
* ``reconcile`` finishing payments left pending by a crash or an outage;
* ``authentication`` the link and page for a charge the bank wants the cardholder for;
* ``mail``      the payment emails; ``store`` the items. Refunds and disputes: ``refunds``.
"""

from __future__ import annotations

from datetime import datetime

from therabill.cards.models import ChargeKind, OnSessionKind
from therabill.cards.service import CardService
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.ledger.service import LedgerService
from therabill.notifications.mailer import Outbox
from therabill.payments.attempts import Attempts
from therabill.payments.authentication import AuthenticationPage, AuthLinks, AuthPage
from therabill.payments.card_used import CardShown, CardUsed
from therabill.payments.charges import ChargeRequest, SavedCardCharges
from therabill.payments.declines import Declines
from therabill.payments.gateway import ChargeOutcome, PaymentGateway
from therabill.payments.intents import ClientPaymentRequest, ClientPayments
from therabill.payments.mail import PaymentMail
from therabill.payments.models import Payment
from therabill.payments.outcomes import GiveUpHook, Outcomes, SuccessHook
from therabill.payments.parties import Parties, PartyFinder
from therabill.payments.reconcile import Reconciler
from therabill.payments.retry_run import RetryRunner
from therabill.payments.store import PaymentStore
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService


class PaymentService:
    def __init__(
        self,
        *,
        store: PaymentStore,
        charges: SavedCardCharges,
        client_payments: ClientPayments,
        outcomes: Outcomes,
        retries: RetryRunner,
        reconciler: Reconciler,
        authentication: AuthenticationPage,
        card_used: CardUsed,
    ) -> None:
        self._store = store
        self._charges = charges
        self._client_payments = client_payments
        self._outcomes = outcomes
        self._retries = retries
        self._reconciler = reconciler
        self._authentication = authentication
        self._card_used = card_used

    @classmethod
    def assemble(
        cls,
        *,
        store: PaymentStore,
        gateway: PaymentGateway,
        practices: PracticeService,
        clients: ClientService,
        cards: CardService,
        ledger: LedgerService,
        outbox: Outbox,
        clock: Clock,
        link_key: str,
        public_base_url: str,
        platform_fee_bps: int = 0,
    ) -> PaymentService:
        """The parts, each given only the collaborators it uses (the one place they meet)."""
        # Long: it lists every part's collaborators, by keyword, and nothing else.
        links = AuthLinks(link_key=link_key, public_base_url=public_base_url, clock=clock)
        mail = PaymentMail(outbox=outbox, clients=clients, links=links)
        parties = PartyFinder(store=store, clients=clients, cards=cards)
        declines = Declines(store=store, clock=clock)
        outcomes = Outcomes(
            store=store, ledger=ledger, mail=mail, parties=parties, declines=declines, clock=clock
        )
        client_payments = ClientPayments(
            store=store, gateway=gateway, practices=practices, clients=clients, outcomes=outcomes, clock=clock
        )
        attempts = Attempts(
            gateway=gateway,
            parties=parties,
            outcomes=outcomes,
            client_payments=client_payments,
            clock=clock,
            platform_fee_bps=platform_fee_bps,
        )
        return cls(
            store=store,
            charges=SavedCardCharges(
                store=store, practices=practices, cards=cards, parties=parties, attempts=attempts, clock=clock
            ),
            client_payments=client_payments,
            outcomes=outcomes,
            retries=RetryRunner(
                store=store,
                practices=practices,
                clients=clients,
                cards=cards,
                attempts=attempts,
                outcomes=outcomes,
                clock=clock,
            ),
            reconciler=Reconciler(store=store, practices=practices, attempts=attempts, clock=clock),
            authentication=AuthenticationPage(
                links=links, store=store, gateway=gateway, practices=practices, cards=cards
            ),
            card_used=CardUsed(parties=parties, gateway=gateway),
        )

    def on_success(self, kind: str, hook: SuccessHook) -> None:
        """Run ``hook`` after each success of a payment of ``kind`` (after its ledger entry and
        receipt). At least once per success: hooks must be idempotent. A hook that fails on the
        webhook path fails the event (SQS redelivers it); elsewhere it is logged and the
        ``payment_intent.succeeded`` event runs it again."""
        self._outcomes.on_success(kind, hook)

    def on_given_up(self, kind: str, hook: GiveUpHook) -> None:
        """Run ``hook`` when a payment of ``kind`` is given up (``Payment.given_up``: declined for
        good, or its retries used up), before the practice's notice. At least once, on every
        report of the outcome: hooks must be idempotent. Failures are handled as ``on_success``'s."""
        self._outcomes.on_given_up(kind, hook)

    def get(self, practice_id: str, payment_id: str) -> Payment:
        return self._store.get(practice_id, payment_id)

    def card_used(self, practice: Practice, payment: Payment) -> CardShown | None:
        """The brand and last four of the card that paid ``payment`` (None: not known now)."""
        return self._card_used.of(practice, payment)

    # -- saved cards --------------------------------------------------------------------------
    def charge_saved_card(
        self,
        practice_id: str,
        *,
        client_id: str,
        request_key: str,
        amount: int,
        kind: ChargeKind,
        memo: str,
        created_by: str,
        card_id: str | None = None,
        owner_id: str | None = None,
        reference: str | None = None,
    ) -> Payment:
        """``reference`` names what the payment is for (e.g. ``copay:<ses>``), for its success hooks."""
        return self._charges.charge(
            practice_id,
            ChargeRequest(
                client_id=client_id,
                request_key=request_key,
                amount=amount,
                kind=kind,
                memo=memo,
                created_by=created_by,
                card_id=card_id,
                owner_id=owner_id,
                reference=reference,
            ),
        )

    # -- on-session payments: the client pays on a page ---------------------------------------
    def start_client_payment(
        self,
        practice_id: str,
        *,
        client_id: str,
        owner_id: str | None,
        request_key: str,
        amount: int,
        kind: OnSessionKind,
        memo: str,
        created_by: str,
        reference: str | None = None,
    ) -> tuple[Payment, str | None]:
        """A payment the client makes on a page: Stripe.js confirms the returned client secret
        (None when there is nothing, or nothing yet, to pay on a page). See ``intents``."""
        return self._client_payments.start(
            practice_id,
            ClientPaymentRequest(
                client_id=client_id,
                owner_id=owner_id,
                request_key=request_key,
                amount=amount,
                kind=kind,
                memo=memo,
                created_by=created_by,
                reference=reference,
            ),
        )

    def client_secret(self, practice: Practice, payment_id: str) -> tuple[Payment, str]:
        return self._client_payments.client_secret(practice, payment_id)

    def cancel_client_payment(self, practice: Practice, payment_id: str) -> Payment:
        return self._client_payments.cancel(practice, payment_id)

    def record_canceled(self, practice: Practice, payment_id: str, payment_intent_id: str) -> Payment:
        return self._client_payments.record_canceled(practice, payment_id, payment_intent_id)

    # -- outcomes (the request path, the webhook worker, the reconciler) ------------------------
    def apply_outcome(
        self,
        practice: Practice,
        payment_id: str,
        outcome: ChargeOutcome,
        parties: Parties | None = None,
        *,
        strict_email: bool = False,
    ) -> Payment:
        """Record what Stripe said. ``strict_email``: an email that cannot be sent raises (the
        webhook worker, so SQS redelivers); otherwise it is logged and left to the webhook."""
        return self._outcomes.apply(practice, payment_id, outcome, parties, strict_email=strict_email)

    def record_success(
        self,
        practice: Practice,
        payment_id: str,
        payment_intent_id: str | None,
        charge_id: str | None,
        parties: Parties | None = None,
        *,
        strict_email: bool = False,
    ) -> Payment:
        return self._outcomes.record_success(
            practice, payment_id, payment_intent_id, charge_id, parties, strict_email=strict_email
        )

    # -- scheduled -----------------------------------------------------------------------------
    def retry_due(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """Make the next attempt of every declined payment whose retry is due."""
        return self._retries.run_due(now, limit)

    def reconcile_pending(self, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
        """Finish payments left pending by a crash or a Stripe outage."""
        return self._reconciler.reconcile_pending(now, limit)

    # -- authentication links -----------------------------------------------------------------
    def auth_link(self, practice_id: str, payment_id: str) -> str:
        return self._authentication.link(practice_id, payment_id)

    def open_auth_link(self, token: str) -> AuthPage:
        return self._authentication.open(token)

    def auth_link_practice(self, token: str) -> Practice | None:
        """The practice an authentication link comes from, to name it on the link's error page."""
        return self._authentication.link_practice(token)
