"""Paying an order exactly once, through the payments capability: one payment per order (request
key ``order:<ord>``, named on the order before Stripe is called), a saved card charged now (kind
``product``: its consent must cover products) or a new card on the page (kind ``order``: an
on-session PaymentIntent Stripe.js confirms). Stripe sees the payment's id and the amount, never
what was bought. The payment's success (the charge's answer, the page's confirm step, the webhook
or the reconciler, whichever comes first; each again changes nothing) marks the order paid, posts
the sale to the ledger, sends the itemised receipt and tells the practice of low stock."""

from __future__ import annotations

import contextlib
from typing import Literal

from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError
from therabill.core.ids import derived_id
from therabill.ledger.chart import PRODUCT_REVENUE
from therabill.ledger.service import LedgerService
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.payments.models import ORDER_REFERENCE, Payment, for_an_order
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.shop.errors import OrderStateError, OutOfStockError, RequestReusedError
from therabill.shop.models import Order
from therabill.shop.receipts import late_payment_email, low_stock_email, receipt_email
from therabill.shop.store import ShopStore

Method = Literal["saved_card", "new_card"]
KIND_OF: dict[str, str] = {"saved_card": "product", "new_card": "order"}  # the payment's kind per method
UNPAID = frozenset({"declined", "failed", "canceled"})  # a payment that will not pay the order


def _late(order: Order) -> str:
    return f"order-late-payment:{order.id}"  # the practice's one email of a payment after the release


class OrderPayments:
    def __init__(
        self,
        *,
        store: ShopStore,
        payments: PaymentService,
        clients: ClientService,
        ledger: LedgerService,
        outbox: Outbox,
        clock: Clock,
    ) -> None:
        self._store = store
        self._payments = payments
        self._clients = clients
        self._ledger = ledger
        self._outbox = outbox
        self._clock = clock

    def pay(self, practice: Practice, order: Order, method: Method) -> tuple[Order, Payment, str | None]:
        """Start paying a reserved order: (the order as it now is, its payment, the client secret
        for a new card; None for a saved card, charged now). A saved card declined releases the
        order at once (the client may order again and pay another way)."""
        if order.status != "reserved":
            raise OrderStateError(
                "this order is paid"
                if order.status == "paid"
                else "this order can no longer be paid: start a new one",
                current_status=order.status,
                order_id=order.id,
            )
        request_key = f"{ORDER_REFERENCE}{order.id}"
        started = self._payment_of(practice, order)
        if started is not None and started.kind != KIND_OF[method]:
            raise RequestReusedError(
                "this request was already used to pay another way: reload the page and order again",
                order_id=order.id,
            )
        if order.payment_id is None:
            order = self._store.set_payment(practice.id, order, derived_id("pay", practice.id, request_key))
        if method == "new_card":
            payment, secret = self._payments.start_client_payment(
                practice.id,
                client_id=order.client_id,
                owner_id=order.owner_id,
                request_key=request_key,
                amount=order.total,
                kind="order",
                memo=f"Store order {order.id}",
                created_by="store-page",
                reference=request_key,
            )
            return self._store.get_order(practice.id, order.id), payment, secret
        payment = self._saved_card(practice, order, request_key)
        if payment.status == "succeeded":
            self.payment_succeeded(practice, payment)  # the hook did it too; each step is once
        elif payment.status in UNPAID:
            self._store.release(practice.id, self._store.get_order(practice.id, order.id))
        return self._store.get_order(practice.id, order.id), payment, None

    def _saved_card(self, practice: Practice, order: Order, request_key: str) -> Payment:
        party = self._clients.billing_party(practice.id, order.client_id, order.owner_id)
        if not party.default_card_id:
            raise InvalidRequestError("there is no saved card to pay with", field="method")
        return self._payments.charge_saved_card(
            practice.id,
            client_id=order.client_id,
            request_key=request_key,
            amount=order.total,
            kind="product",
            memo=f"Store order {order.id}",
            created_by="store-page",
            card_id=party.default_card_id,
            owner_id=order.owner_id,
            reference=request_key,
        )

    def release(self, practice: Practice, order: Order) -> Order:
        """An order whose hold expired: its payment is settled first. A payment on the page is
        cancelled at Stripe (if the client paid meanwhile, the order is paid instead); one still
        pending or processing keeps the hold for the next run; otherwise the units go back."""
        if order.status != "reserved":
            return order
        payment = self._payment_of(practice, order)
        if payment is not None and payment.on_session and payment.status not in UNPAID | {"succeeded"}:
            payment = self._payments.cancel_client_payment(practice, payment.id)
        if payment is not None and payment.status == "succeeded":
            self.payment_succeeded(practice, payment)
            return self._store.get_order(practice.id, order.id)
        if payment is not None and payment.status in ("pending", "processing", "awaiting_client"):
            logger.info("order payment still under way; hold kept", order_id=order.id)
            return order
        released = self._store.release(practice.id, order)
        logger.info("order reservation released", order_id=order.id)
        return released

    def _payment_of(self, practice: Practice, order: Order) -> Payment | None:
        if order.payment_id is None:
            return None
        try:
            return self._payments.get(practice.id, order.payment_id)
        except NotFoundError:
            return None  # named before Stripe was called, never written: nothing to cancel

    def payment(self, practice: Practice, payment_id: str) -> Payment:
        return self._payments.get(practice.id, payment_id)

    def confirm(self, practice: Practice, order: Order) -> Order:
        """After Stripe.js confirmed: if Stripe says it was paid, record it now (the webhook may
        be late). Returns the order as it now is."""
        if order.payment_id is None or order.status == "paid":
            return order
        payment = self._payments.get(practice.id, order.payment_id)
        if payment.status != "succeeded" and payment.on_session:
            with contextlib.suppress(ConflictError):  # "already made": recorded just now
                self._payments.client_secret(practice, payment.id)
            payment = self._payments.get(practice.id, payment.id)
        if payment.status == "succeeded":
            self.payment_succeeded(practice, payment)
        return self._store.get_order(practice.id, order.id)

    def payment_succeeded(self, practice: Practice, payment: Payment) -> None:
        """The success hook of an order's payment: at least once per success, each step once.
        A ``product`` payment that is no order's (a staff charge) is left alone."""
        if not for_an_order(payment):
            return
        order = self._store.get_order(practice.id, (payment.reference or "").removeprefix(ORDER_REFERENCE))
        if order.status == "released" and self._outbox.already(practice.id, _late(order)):
            return  # paid late, its units sold: the practice was told, the money is the client's credit
        if order.status in ("reserved", "released"):
            order = self._mark_paid(practice, order, payment)
        if order.status not in ("paid", "refunded"):  # refunded: paid before, each step below is once
            return
        self._ledger.post_charge(
            practice.id,
            client_id=order.client_id,
            owner_id=order.owner_id,
            amount=order.amount,
            source_key=f"{ORDER_REFERENCE}{order.id}",
            memo=f"Store order {order.id}",
            revenue=PRODUCT_REVENUE,
        )
        self._send_receipt(practice, order)
        self._tell_low_stock(practice, order)

    def _mark_paid(self, practice: Practice, order: Order, payment: Payment) -> Order:
        card = self._payments.card_used(practice, payment)
        changes: dict[str, object] = {"payment_id": payment.id, "paid_at": self._clock().isoformat()}
        if card is not None:
            changes |= {"card_brand": card.brand, "card_last4": card.last4}
        try:
            return self._store.mark_paid(practice.id, order, changes, self._clock())
        except OrderStateError:
            return self._store.get_order(practice.id, order.id)  # paid meanwhile by another report
        except OutOfStockError:
            # Paid after its hold was released and its units sold: the money stays the client's
            # credit (the payment is on the ledger) and the practice is told once.
            logger.warning("order paid after its units were sold", order_id=order.id)
            self._outbox.send_once(
                practice.id,
                _late(order),
                late_payment_email(practice=practice, order=order, payment_id=payment.id),
            )
            return order

    def _send_receipt(self, practice: Practice, order: Order) -> None:
        party = self._clients.billing_party(practice.id, order.client_id, order.owner_id)
        if not party.email:
            logger.info("no email for the order's receipt", order_id=order.id)
            return
        email = receipt_email(practice=practice, party_name=party.name, to=party.email, order=order)
        self._outbox.send_once(practice.id, f"order-receipt:{order.id}", email)

    def _tell_low_stock(self, practice: Practice, order: Order) -> None:
        for line in order.lines:
            try:
                product = self._store.get_product(practice.id, line.product_id)
            except NotFoundError:
                continue
            if product.available <= product.low_stock_at:
                email = low_stock_email(practice=practice, product=product)
                # Once per level reached: the next sale that lowers it again tells again.
                self._outbox.send_once(practice.id, f"low-stock:{product.id}:{product.available}", email)
