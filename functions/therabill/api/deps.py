"""What the API's routes call, as the entry point provides it for one request.

Routes never build services and never import the composition root: the entry point installs its
container around ``app.resolve`` (``with serving(container()):``) and a route asks ``container()``
for the capability it needs. ``Services`` names exactly what the routes use, so the API depends on
the capabilities' services, not on how they are wired.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from therabill.audit.service import AuditService
    from therabill.authorizations.service import AuthorizationService
    from therabill.bookings.rules import BookingRules
    from therabill.bookings.service import BookingService
    from therabill.cards.autopay import AutoPay
    from therabill.cards.service import CardService
    from therabill.clients.service import ClientService
    from therabill.coverage.card_images import CardImages
    from therabill.coverage.service import CoverageService
    from therabill.eligibility.ports import CheckRequests
    from therabill.eligibility.service import EligibilityService
    from therabill.invoices.access import InvoiceAccess
    from therabill.invoices.service import InvoiceService
    from therabill.ledger.grants import StaffCredits
    from therabill.ledger.service import LedgerService
    from therabill.nightly.completion import CompletionRequests
    from therabill.nightly.service import NightlyService
    from therabill.payers.service import PayerService
    from therabill.payments.refunds import RefundService
    from therabill.payments.service import PaymentService
    from therabill.practices.service import PracticeService
    from therabill.providers.service import ProviderService
    from therabill.services.catalog import ServiceCatalog
    from therabill.sessions.billing import SessionBilling
    from therabill.sessions.service import SessionService
    from therabill.settings import Secrets, Settings
    from therabill.shop.service import ShopService
    from therabill.signup.service import SignupService
    from therabill.staff.service import StaffService


class Services(Protocol):
    """The capabilities behind the staff API and the public pages."""

    @property
    def settings(self) -> Settings: ...
    @property
    def secrets(self) -> Secrets: ...
    @property
    def public_base_url(self) -> str: ...
    @property
    def practices(self) -> PracticeService: ...
    @property
    def providers(self) -> ProviderService: ...
    @property
    def clients(self) -> ClientService: ...
    @property
    def coverage(self) -> CoverageService: ...
    @property
    def card_images(self) -> CardImages: ...
    @property
    def payers(self) -> PayerService: ...
    @property
    def authorizations(self) -> AuthorizationService: ...
    @property
    def eligibility(self) -> EligibilityService: ...
    @property
    def eligibility_requests(self) -> CheckRequests | None: ...
    @property
    def cards(self) -> CardService: ...
    @property
    def payments(self) -> PaymentService: ...
    @property
    def refunds(self) -> RefundService: ...
    @property
    def ledger(self) -> LedgerService: ...
    @property
    def staff_credits(self) -> StaffCredits: ...
    @property
    def autopay(self) -> AutoPay: ...
    @property
    def service_catalog(self) -> ServiceCatalog: ...
    @property
    def sessions(self) -> SessionService: ...
    @property
    def session_billing(self) -> SessionBilling: ...
    @property
    def invoices(self) -> InvoiceService: ...
    @property
    def invoice_access(self) -> InvoiceAccess: ...
    @property
    def booking_rules(self) -> BookingRules: ...
    @property
    def bookings(self) -> BookingService: ...
    @property
    def signup(self) -> SignupService: ...
    @property
    def nightly(self) -> NightlyService: ...
    @property
    def completion_requests(self) -> CompletionRequests | None: ...
    @property
    def staff(self) -> StaffService: ...
    @property
    def audit(self) -> AuditService: ...
    @property
    def shop(self) -> ShopService: ...


_current: ContextVar[Services | None] = ContextVar("therabill_api_services", default=None)


class NotServingError(RuntimeError):
    """A route ran outside ``serving(...)``: a wiring mistake, never a client's."""


def container() -> Services:
    """The services of the request being handled."""
    current = _current.get()
    if current is None:
        raise NotServingError("no services installed: call the API through its entry point")
    return current


@contextmanager
def serving(services: Services) -> Iterator[None]:
    """Install ``services`` for the routes while one request (or event) is handled."""
    token = _current.set(services)
    try:
        yield
    finally:
        _current.reset(token)
