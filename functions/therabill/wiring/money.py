"""Money: cards, the ledger, payments (and their success hooks), refunds, invoices, Stripe events."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from therabill.wiring.base import Base, _LazyGateway

if TYPE_CHECKING:
    from therabill.cards.autopay import AutoPay
    from therabill.cards.service import CardService
    from therabill.invoices.access import InvoiceAccess
    from therabill.invoices.service import InvoiceService
    from therabill.ledger.grants import StaffCredits
    from therabill.ledger.service import LedgerService
    from therabill.payments.refunds import RefundService
    from therabill.payments.service import PaymentService
    from therabill.webhooks.dispatch import EventDispatcher
    from therabill.webhooks.inbox import EventQueue, Inbox


class Money(Base):
    @cached_property
    def cards(self) -> CardService:
        from therabill.cards.service import CardService, SetupKeys
        from therabill.cards.store import CardStore

        return CardService(
            store=CardStore(self.table),
            gateway=_LazyGateway(self),
            clients=self.clients,
            practices=self.practices,
            clock=self.clock,
            keys=SetupKeys(
                link_key=self.secrets.link_signing_key,
                publishable_key=self.secrets.stripe_publishable_key,
            ),
            outbox=self.outbox,
        )

    @cached_property
    def ledger(self) -> LedgerService:
        from therabill.ledger.service import LedgerService
        from therabill.ledger.store import LedgerStore

        return LedgerService(store=LedgerStore(self.table), clock=self.clock)

    @cached_property
    def autopay(self) -> AutoPay:
        from therabill.cards.autopay import AutoPay

        return AutoPay(cards=self.cards, clients=self.clients, practices=self.practices, clock=self.clock)

    @cached_property
    def staff_credits(self) -> StaffCredits:
        from therabill.ledger.grants import StaffCredits

        return StaffCredits(ledger=self.ledger)

    # Long on purpose: the payment service and every success hook other capabilities hang on it.
    @cached_property
    def payments(self) -> PaymentService:
        from therabill.cards.models import SESSION_BILLING_KINDS
        from therabill.payments.service import PaymentService
        from therabill.payments.store import PaymentStore

        service = PaymentService.assemble(
            store=PaymentStore(self.table),
            gateway=_LazyGateway(self),
            practices=self.practices,
            clients=self.clients,
            cards=self.cards,
            ledger=self.ledger,
            outbox=self.outbox,
            clock=self.clock,
            link_key=self.secrets.link_signing_key,
            public_base_url=self.public_base_url,
            platform_fee_bps=self.secrets.platform_fee_bps,
        )
        # Paying at booking: a deposit or prepayment that succeeds confirms its session (lazily
        # built: only when such a payment succeeds).
        for kind in ("deposit", "prepayment"):
            service.on_success(
                kind,
                lambda practice, payment: self.bookings.payment_succeeded(practice, payment),  # noqa: PLW0108 - lazy
            )
        # Invoices: a payment made on the pay page (a new card: "invoice"; a saved card: "balance")
        # is applied to its invoice; the nightly run charges an invoice with the kind of what it
        # bills, and a late success (a pending charge finished by the reconciler or a webhook) is
        # paid through its INVPAY pointer.
        for kind in ("invoice", "balance", *SESSION_BILLING_KINDS):
            service.on_success(
                kind,
                lambda practice, payment: self.invoices.payment_succeeded(practice, payment),  # noqa: PLW0108 - lazy
            )
        # ... and one given up (the retries of a declined card used up) sends the invoice it held.
        for kind in (*SESSION_BILLING_KINDS, "balance"):
            service.on_given_up(
                kind,
                lambda practice, payment: self.invoices.payment_given_up(practice, payment),  # noqa: PLW0108 - lazy
            )
        # The store: an order's payment (a new card on the page: "order"; a saved card: "product")
        # pays its order.
        for kind in ("order", "product"):
            service.on_success(
                kind,
                lambda practice, payment: self.shop.paying.payment_succeeded(practice, payment),  # noqa: PLW0108 - lazy
            )
        # A copay or fee payment finished later (reconciler, authentication, a retried decline):
        # its session's record follows.
        for kind in ("copay", "cancellation_fee"):
            service.on_success(
                kind,
                lambda practice, payment: self.session_billing.payment_succeeded(practice, payment),  # noqa: PLW0108 - lazy
            )
            # ... and one given up (its retries used up, declined for good) leaves it a balance.
            service.on_given_up(
                kind,
                lambda practice, payment: self.session_billing.payment_given_up(practice, payment),  # noqa: PLW0108 - lazy
            )
        return service

    @cached_property
    def refunds(self) -> RefundService:
        from therabill.payments.refunds import RefundService
        from therabill.payments.store import PaymentStore

        service = RefundService(
            store=PaymentStore(self.table),
            gateway=_LazyGateway(self),
            practices=self.practices,
            ledger=self.ledger,
            clock=self.clock,
        )
        # A refund of an invoice's payment: the invoice owes it again (a Paid one reopens).
        service.on_refund(
            lambda practice_id, refund, payment: self.invoices.refund_succeeded(
                practice_id, refund.id, payment.id, refund.amount
            )
        )
        # A refund that failed after its success: the invoice has the money again.
        service.on_refund_reversed(
            lambda practice_id, refund, payment: self.invoices.refund_reversed(
                practice_id, refund.id, payment.id, refund.amount
            )
        )
        # A store return's refund that failed: the return no longer counts, its restock taken back.
        service.on_refund_failed(
            lambda prc, rfd, pay: self.shop.returns.refund_failed(prc, rfd, pay),  # noqa: PLW0108 - lazy
        )
        return service

    @cached_property
    def invoices(self) -> InvoiceService:
        from therabill.invoices.service import InvoiceService
        from therabill.invoices.store import InvoiceStore

        return InvoiceService.build(
            store=InvoiceStore(self.table),
            clock=self.clock,
            practices=self.practices,
            clients=self.clients,
            sessions=self.sessions,
            ledger=self.ledger,
            outbox=self.outbox,
            cards=self.cards,
            public_base_url=self.public_base_url,
        )

    @cached_property
    def invoice_access(self) -> InvoiceAccess:
        from therabill.invoices.access import InvoiceAccess

        return InvoiceAccess(
            store=self.invoices.store, clock=self.clock, link_key=self.secrets.link_signing_key
        )

    @cached_property
    def inbox(self) -> Inbox:
        from therabill.webhooks.inbox import Inbox
        from therabill.webhooks.store import StripeEventStore

        return Inbox(store=StripeEventStore(self.table), queue=self._queue_or_none(), clock=self.clock)

    def _queue_or_none(self) -> EventQueue | None:
        if self._queue is not None or self.settings.stripe_events_queue_url:
            return self.queue
        return None

    @cached_property
    def dispatcher(self) -> EventDispatcher:
        from therabill.webhooks.dispatch import EventDispatcher

        return EventDispatcher(
            practices=self.practices,
            cards=self.cards,
            payments=self.payments,
            refunds=self.refunds,
            clock=self.clock,
        )
