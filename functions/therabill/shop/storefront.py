"""The store page's work, by its link: what to show (the recommended items first, then the rest
of the catalogue, and the saved card when its consent covers products), placing an order (its
units reserved at once) and paying it, and the page's confirm step after Stripe.js."""

from __future__ import annotations

from dataclasses import dataclass

from therabill.cards.consent import check_consent
from therabill.cards.errors import ConsentError
from therabill.cards.models import Card
from therabill.cards.service import CardService
from therabill.clients.service import ClientService
from therabill.core.clock import Clock
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
    RetryLaterError,
    TherabillError,
)
from therabill.payments.models import Payment
from therabill.shop.errors import BadOrderError, OrderNotFoundError, RequestReusedError
from therabill.shop.links import PurchaseLinks, StoreVisit
from therabill.shop.models import Order, Product
from therabill.shop.orders import Orders
from therabill.shop.paying import Method, OrderPayments
from therabill.shop.store import ShopStore


@dataclass(frozen=True)
class Shelf:
    """What the page shows: the products in order (recommended first) with the quantity each
    was recommended in (0: not recommended), and the saved card it may offer."""

    visit: StoreVisit
    products: list[tuple[Product, int]]
    party_name: str
    saved_card: Card | None


@dataclass(frozen=True)
class Placed:
    order: Order
    payment: Payment
    client_secret: str | None


class Storefront:
    def __init__(
        self,
        *,
        store: ShopStore,
        links: PurchaseLinks,
        orders: Orders,
        paying: OrderPayments,
        clients: ClientService,
        cards: CardService,
        clock: Clock,
    ) -> None:
        self._store = store
        self._links = links
        self._orders = orders
        self._paying = paying
        self._clients = clients
        self._cards = cards
        self._clock = clock

    def shelf(self, token: str) -> Shelf:
        visit = self._links.open(token)
        practice, link = visit.practice, visit.link
        recommended = {r.product_id: r.quantity for r in link.items}
        on_sale = [
            p for p in self._store.products(practice.id) if p.active and p.price.currency == practice.currency
        ]
        first = sorted(
            (p for p in on_sale if p.id in recommended), key=lambda p: list(recommended).index(p.id)
        )
        rest = sorted((p for p in on_sale if p.id not in recommended), key=lambda p: p.name.lower())
        party = self._clients.billing_party(practice.id, link.client_id, link.owner_id)
        return Shelf(
            visit=visit,
            products=[(p, recommended[p.id]) for p in first] + [(p, 0) for p in rest],
            party_name=party.name,
            saved_card=self._usable_card(visit, party.default_card_id),
        )

    def place(self, token: str, *, items: list[tuple[str, int]], method: Method, request_id: str) -> Placed:
        """Create the order (its units reserved) and start paying it. The same ``request_id``
        again meets the same order and the same payment. What would stop it being paid is
        checked before anything is held; a refusal after that releases the order at once."""
        visit = self._links.open(token)
        practice, link = visit.practice, visit.link
        order = self._orders.draft(
            practice.id,
            client_id=link.client_id,
            owner_id=link.owner_id,
            currency=practice.currency,
            items=items,
            key=f"{link.id}:{request_id}",
            link_id=link.id,
        )
        if not self._store.has_order(practice.id, order.id):
            self._can_pay(visit, order, method)
        order = self._orders.reserve(practice.id, order)
        if order.status == "paid":
            assert order.payment_id is not None
            return Placed(order, self._paying_payment(visit, order.payment_id), None)
        try:
            order, payment, secret = self._paying.pay(practice, order, method)
        except RequestReusedError:
            raise  # the first request's order, still its own
        except (DependencyUnavailableError, RetryLaterError):
            raise  # Stripe may yet answer: the hold stays for the reconciler to settle
        except TherabillError:
            self._paying.release(practice, self._store.get_order(practice.id, order.id))
            raise
        return Placed(order, payment, secret)

    def _can_pay(self, visit: StoreVisit, order: Order, method: Method) -> None:
        """Refused before any unit is held: a practice that cannot take payments, an order of
        only free items (nothing to pay online), a saved card that is missing or whose consent
        does not cover this product charge."""
        practice, link = visit.practice, visit.link
        if practice.stripe is None or not practice.stripe.charges_enabled:
            raise ConflictError("the practice cannot take payments online just now")
        if order.total <= 0:
            raise BadOrderError(
                "an order of only free items cannot be paid online: ask the practice for them",
                field="items",
            )
        if method != "saved_card":
            return
        party = self._clients.billing_party(practice.id, link.client_id, link.owner_id)
        if not party.default_card_id:
            raise InvalidRequestError("there is no saved card to pay with", field="method")
        card = self._cards.get_card(practice.id, link.client_id, party.default_card_id)
        consent = self._cards.get_consent(practice.id, card.consent_id)
        check_consent(
            consent, kind="product", amount=order.total, currency=practice.currency, now=self._clock()
        )

    def confirm(self, token: str, order_id: str) -> Order:
        visit = self._links.open(token)
        return self._paying.confirm(visit.practice, self._order_of(visit, order_id))

    def _order_of(self, visit: StoreVisit, order_id: str) -> Order:
        order = self._orders.get(visit.practice.id, order_id)
        if order.link_id != visit.link.id:
            raise OrderNotFoundError("order not found", order_id=order_id)
        return order

    def _paying_payment(self, visit: StoreVisit, payment_id: str) -> Payment:
        return self._paying.payment(visit.practice, payment_id)

    def _usable_card(self, visit: StoreVisit, card_id: str | None) -> Card | None:
        """The billing party's default card, if its consent lets it pay for products now."""
        if card_id is None:
            return None
        practice, link = visit.practice, visit.link
        try:
            card = self._cards.get_card(practice.id, link.client_id, card_id)
            consent = self._cards.get_consent(practice.id, card.consent_id)
            check_consent(consent, kind="product", amount=1, currency=practice.currency, now=self._clock())
        except (NotFoundError, ConsentError):
            return None
        return card
