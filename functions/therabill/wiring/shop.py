"""The store: catalogue, orders, paying, purchase links, the storefront, returns."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from therabill.wiring.base import Base

if TYPE_CHECKING:
    from therabill.shop.service import ShopService


class Shop(Base):
    # Long on purpose: the store's parts (catalogue, orders, paying, links, the page) in one place.
    @cached_property
    def shop(self) -> ShopService:
        from therabill.shop.catalogue import Catalogue
        from therabill.shop.links import PurchaseLinks
        from therabill.shop.orders import Orders
        from therabill.shop.paying import OrderPayments
        from therabill.shop.returns import Returns
        from therabill.shop.service import ShopService
        from therabill.shop.store import ShopStore
        from therabill.shop.storefront import Storefront

        store = ShopStore(self.table)
        orders = Orders(store=store, clock=self.clock)
        links = PurchaseLinks(
            store=store,
            practices=self.practices,
            clients=self.clients,
            sessions=self.sessions,
            outbox=self.outbox,
            link_key=self.secrets.link_signing_key,
            public_base_url=self.public_base_url,
            clock=self.clock,
        )
        paying = OrderPayments(
            store=store,
            payments=self.payments,
            clients=self.clients,
            ledger=self.ledger,
            outbox=self.outbox,
            clock=self.clock,
        )
        return ShopService(
            catalogue=Catalogue(store=store, clock=self.clock),
            orders=orders,
            paying=paying,
            links=links,
            storefront=Storefront(
                store=store,
                links=links,
                orders=orders,
                paying=paying,
                clients=self.clients,
                cards=self.cards,
                clock=self.clock,
            ),
            returns=Returns(
                store=store,
                refunds=self.refunds,
                practices=self.practices,
                outbox=self.outbox,
                clock=self.clock,
            ),
            practices=self.practices,
        )
