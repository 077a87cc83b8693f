"""The container's shared state (settings, clock, clients and the test doubles it was given) and,
for the type checker only, what each part reads from the others: every part is a mixin on this base,
and ``therabill.wiring.Container`` inherits them all, so a part reaches another's through ``self``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from therabill.core.clock import Clock, utc_now
from therabill.settings import Secrets, Settings

if TYPE_CHECKING:
    from therabill.adapters.dynamo import Table
    from therabill.authorizations.service import AuthorizationService
    from therabill.bookings.service import BookingService
    from therabill.cards.service import CardService
    from therabill.clients.service import ClientService
    from therabill.coverage.service import CoverageService
    from therabill.invoices.service import InvoiceService
    from therabill.ledger.service import LedgerService
    from therabill.notifications.mailer import EmailTransport, Outbox
    from therabill.payments.gateway import PaymentGateway
    from therabill.payments.refunds import RefundService
    from therabill.payments.service import PaymentService
    from therabill.practices.service import PracticeService
    from therabill.providers.service import ProviderService
    from therabill.sessions.billing import SessionBilling
    from therabill.sessions.service import SessionService
    from therabill.shop.service import ShopService
    from therabill.staff.service import StaffService
    from therabill.webhooks.inbox import EventQueue


class Base:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        clients: Any = None,
        secrets: Secrets | None = None,
        gateway: PaymentGateway | None = None,
        email: EmailTransport | None = None,
        queue: EventQueue | None = None,
    ) -> None:
        from therabill.adapters import aws

        self.settings = settings
        self.clock = clock
        self._client = clients or aws.client
        self._secrets = secrets
        self._gateway = gateway
        self._email = email
        self._queue = queue

    if TYPE_CHECKING:
        # Built by another part (see the package's modules); declared here for the type checker.
        @property
        def authorizations(self) -> AuthorizationService: ...

        @property
        def bookings(self) -> BookingService: ...

        @property
        def cards(self) -> CardService: ...

        @property
        def clients(self) -> ClientService: ...

        @property
        def coverage(self) -> CoverageService: ...

        @property
        def gateway(self) -> PaymentGateway: ...

        @property
        def invoices(self) -> InvoiceService: ...

        @property
        def ledger(self) -> LedgerService: ...

        @property
        def nightly_schedules(self) -> Any: ...

        @property
        def outbox(self) -> Outbox: ...

        @property
        def payments(self) -> PaymentService: ...

        @property
        def practices(self) -> PracticeService: ...

        @property
        def providers(self) -> ProviderService: ...

        @property
        def public_base_url(self) -> str: ...

        @property
        def queue(self) -> EventQueue: ...

        @property
        def refunds(self) -> RefundService: ...

        @property
        def secrets(self) -> Secrets: ...

        @property
        def session_billing(self) -> SessionBilling: ...

        @property
        def sessions(self) -> SessionService: ...

        @property
        def shop(self) -> ShopService: ...

        @property
        def staff(self) -> StaffService: ...

        @property
        def table(self) -> Table: ...


class _LazyGateway:
    """Defers building (and importing) the Stripe adapter until a Stripe call is made."""

    def __init__(self, owner: Base) -> None:
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._owner.gateway, name)
