"""Builds the object graph for an entry point, lazily: a handler only constructs (and imports)
what it uses, so the webhook receiver never imports Stripe and cold starts stay small.

Entry points call ``container()``; tests build a Container with their own clients and fakes and
install it with ``use(...)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from therabill.core.clock import Clock, utc_now
from therabill.core.errors import DependencyUnavailableError
from therabill.settings import Secrets, Settings, load_settings

if TYPE_CHECKING:
    from therabill.adapters.dynamo import Table
    from therabill.adapters.secrets import SecretsProvider
    from therabill.audit.archive import AuditArchive
    from therabill.audit.service import AuditService
    from therabill.authorizations.service import AuthorizationService
    from therabill.bookings.rules import BookingRules
    from therabill.bookings.service import BookingService
    from therabill.cards.autopay import AutoPay
    from therabill.cards.service import CardService
    from therabill.clearinghouse.port import Clearinghouse
    from therabill.clearinghouse.store import PracticeControlNumbers, X12CounterStore
    from therabill.clients.service import ClientService
    from therabill.coverage.card_images import CardImages
    from therabill.coverage.service import CoverageService
    from therabill.eligibility.batch import EligibilityBatch
    from therabill.eligibility.ports import CheckRequests, DocumentStore
    from therabill.eligibility.service import EligibilityService
    from therabill.invoices.access import InvoiceAccess
    from therabill.invoices.service import InvoiceService
    from therabill.ledger.grants import StaffCredits
    from therabill.ledger.service import LedgerService
    from therabill.nightly.completion import CompletionRequests
    from therabill.nightly.service import NightlyQueue, NightlyService
    from therabill.notifications.mailer import EmailTransport, Outbox
    from therabill.payers.service import PayerService
    from therabill.payments.gateway import PaymentGateway
    from therabill.payments.refunds import RefundService
    from therabill.payments.service import PaymentService
    from therabill.practices.service import PracticeService
    from therabill.providers.service import ProviderService
    from therabill.services.catalog import ServiceCatalog
    from therabill.sessions.billing import SessionBilling
    from therabill.sessions.clinicians import ClinicianMigration
    from therabill.sessions.service import SessionService
    from therabill.shop.service import ShopService
    from therabill.signup.invitation import InvitationMessages
    from therabill.signup.service import SignupService
    from therabill.staff.directory import StaffDirectory, StaffNotices
    from therabill.staff.service import StaffService
    from therabill.webhooks.dispatch import EventDispatcher
    from therabill.webhooks.inbox import EventQueue, Inbox


class Container:
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

    # -- adapters -------------------------------------------------------------------------------
    @property
    def secrets(self) -> Secrets:
        if self._secrets is not None:
            return self._secrets
        return self._secrets_provider.get()

    @cached_property
    def _secrets_provider(self) -> SecretsProvider:
        from therabill.adapters.secrets import SecretsProvider

        return SecretsProvider(self._client("secretsmanager"), self.settings.secrets_arn)

    @cached_property
    def table(self) -> Table:
        from therabill.adapters.dynamo import Table

        return Table(self._client("dynamodb"), self.settings.table_name)

    @cached_property
    def gateway(self) -> PaymentGateway:
        if self._gateway is not None:
            return self._gateway
        from therabill.adapters.stripe_gateway import StripeGateway

        # Two attempts of at most 5 s each fit inside the API functions' 15 s timeout; anything
        # slower leaves the payment pending for the reconciler (same idempotency key).
        return StripeGateway(
            self.secrets.stripe_secret_key,
            api_base=self.settings.stripe_api_base,
            max_network_retries=1,
            timeout_seconds=5,
        )

    @cached_property
    def email_transport(self) -> EmailTransport:
        if self._email is not None:
            return self._email
        from therabill.adapters.ses import SesTransport

        return SesTransport(self._client("ses"))

    @cached_property
    def queue(self) -> EventQueue:
        if self._queue is not None:
            return self._queue
        from therabill.adapters.sqs import SqsQueue

        assert self.settings.stripe_events_queue_url, "the webhook needs its queue URL"
        return SqsQueue(self._client("sqs"), self.settings.stripe_events_queue_url)

    @property
    def public_base_url(self) -> str:
        return str(self.settings.public_base_url or "http://localhost:3000").rstrip("/")

    # -- domain ---------------------------------------------------------------------------------
    @cached_property
    def practices(self) -> PracticeService:
        from therabill.practices.service import PracticeService
        from therabill.practices.store import PracticeStore

        # The gateway is resolved on first Stripe call only (see PracticeService).
        service = PracticeService(
            store=PracticeStore(self.table), gateway=_LazyGateway(self), clock=self.clock
        )
        if self.nightly_schedules is not None:  # the practice's nightly schedules follow its settings
            service.on_schedule_change(self._sync_schedules)
        return service

    def _sync_schedules(self, practice: Any) -> None:
        if self.nightly_schedules is not None:
            self.nightly_schedules.sync(practice)

    @cached_property
    def staff_directory(self) -> StaffDirectory:
        """Cognito's staff user pool (tests may assign their own directory)."""
        pool = self.settings.user_pool_id
        if not pool:
            return _NoDirectory()
        from therabill.adapters.cognito import CognitoDirectory

        return CognitoDirectory(self._client("cognito-idp"), pool)

    @cached_property
    def staff(self) -> StaffService:
        from therabill.staff.service import StaffService
        from therabill.staff.store import StaffStore

        return StaffService(
            store=StaffStore(self.table),
            directory=self.staff_directory,
            notices=self.staff_notices,
            clock=self.clock,
        )

    @cached_property
    def staff_notices(self) -> StaffNotices:
        from therabill.signup.notices import InvitationNotices

        return InvitationNotices(
            outbox=self.outbox, practices=self.practices, clock=self.clock, sign_in_url=self.sign_in_url
        )

    @cached_property
    def signup(self) -> SignupService:
        from therabill.signup.service import AccountLookup, SignupService
        from therabill.signup.store import SignupStore

        return SignupService(
            store=SignupStore(self.table),
            practices=self.practices,
            staff=self.staff,
            # The staff directory's adapter answers sign-up's lookup too.
            accounts=cast("AccountLookup", self.staff_directory),
            outbox=self.outbox,
            clock=self.clock,
            sign_in_url=self.sign_in_url,
        )

    @cached_property
    def invitations(self) -> InvitationMessages:
        from therabill.signup.invitation import InvitationMessages

        return InvitationMessages(practices=self.practices, sign_in_url=self.sign_in_url)

    @property
    def sign_in_url(self) -> str:
        """Where staff sign in (emails point there); the public base URL when not configured."""
        return str(self.settings.sign_in_url or self.public_base_url)

    @cached_property
    def clients(self) -> ClientService:
        from therabill.clients.service import ClientService
        from therabill.clients.store import ClientStore

        return ClientService(store=ClientStore(self.table), clock=self.clock)

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

    @cached_property
    def outbox(self) -> Outbox:
        from therabill.notifications.mailer import Outbox
        from therabill.notifications.store import OutboxStore

        sender = self.settings.email_sender or "billing@therabill.localhost"
        return Outbox(
            store=OutboxStore(self.table), transport=self.email_transport, sender=sender, clock=self.clock
        )

    # Long on purpose: the payment service and every success hook other capabilities hang on it.
    @cached_property
    def payments(self) -> PaymentService:
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
        # is applied to its invoice.
        for kind in ("invoice", "balance"):
            service.on_success(
                kind,
                lambda practice, payment: self.invoices.payment_succeeded(practice, payment),  # noqa: PLW0108 - lazy
            )
        # The nightly run charges an invoice with the kind of what it bills; a late success (a
        # pending charge finished by the reconciler or a webhook) is paid through its INVPAY pointer.
        for kind in ("session_fee", "copay", "cancellation_fee"):
            service.on_success(
                kind,
                lambda practice, payment: self.invoices.payment_succeeded(practice, payment),  # noqa: PLW0108 - lazy
            )
        # ... and one given up (the retries of a declined card used up) sends the invoice it held.
        for kind in ("session_fee", "copay", "cancellation_fee", "balance"):
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
        return service

    @cached_property
    def service_catalog(self) -> ServiceCatalog:
        from therabill.services.catalog import ServiceCatalog
        from therabill.services.store import ServiceStore

        return ServiceCatalog(store=ServiceStore(self.table), clock=self.clock)

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
            returns=Returns(store=store, refunds=self.refunds, clock=self.clock),
            practices=self.practices,
        )

    @cached_property
    def audit(self) -> AuditService:
        from therabill.audit.service import AuditService
        from therabill.audit.store import AuditStore

        return AuditService(store=AuditStore(self.table), clock=self.clock)

    @cached_property
    def audit_archive(self) -> AuditArchive:
        from therabill.adapters.s3 import S3ArchiveSink
        from therabill.audit.archive import AuditArchive

        bucket = self.settings.audit_archive_bucket
        assert bucket, "the audit archive needs its bucket"
        return AuditArchive(sink=S3ArchiveSink(self._client("s3"), bucket))

    @cached_property
    def card_images(self) -> CardImages:
        from therabill.adapters.s3 import S3Pictures
        from therabill.coverage.card_images import CardImages

        bucket = self.settings.documents_bucket
        if not bucket:
            raise DependencyUnavailableError("pictures of insurance cards are not set up here")
        return CardImages(
            coverage=self.coverage, storage=S3Pictures(self._client("s3"), bucket), clock=self.clock
        )

    @cached_property
    def sessions(self) -> SessionService:
        from therabill.sessions.service import SessionService
        from therabill.sessions.store import SessionStore

        return SessionService(
            store=SessionStore(self.table),
            clock=self.clock,
            practices=self.practices,
            clients=self.clients,
            catalog=self.service_catalog,
            supervision=self.providers.clinicians,
            staff=self.staff,
        )

    @cached_property
    def clinician_migration(self) -> ClinicianMigration:
        from therabill.sessions.clinicians import ClinicianMigration

        return ClinicianMigration(
            sessions=self.sessions.store, supervision=self.providers.clinicians, staff=self.staff
        )

    @cached_property
    def providers(self) -> ProviderService:
        from therabill.providers.clinicians import ClinicianProviderService
        from therabill.providers.service import ProviderService
        from therabill.providers.store import ProviderStore
        from therabill.providers.store.clinicians import ClinicianProviderStore

        clinicians = ClinicianProviderService(
            store=ClinicianProviderStore(self.table), staff=self.staff, clock=self.clock
        )
        return ProviderService(store=ProviderStore(self.table), clinicians=clinicians, clock=self.clock)

    @cached_property
    def payers(self) -> PayerService:
        from therabill.payers.service import PayerService
        from therabill.payers.store import PayerStore

        return PayerService(
            store=PayerStore(self.table),
            clearinghouse=self.clearinghouse,
            providers=self.providers,
            clock=self.clock,
        )

    @cached_property
    def coverage(self) -> CoverageService:
        from therabill.coverage.service import CoverageService
        from therabill.coverage.store import CoverageStore

        return CoverageService(
            store=CoverageStore(self.table), clients=self.clients, practices=self.practices, clock=self.clock
        )

    @cached_property
    def authorizations(self) -> AuthorizationService:
        from therabill.authorizations.service import AuthorizationService
        from therabill.authorizations.store import AuthorizationStore

        return AuthorizationService(
            store=AuthorizationStore(self.table),
            coverage=self.coverage,
            clients=self.clients,
            practices=self.practices,
            clock=self.clock,
        )

    @cached_property
    def session_billing(self) -> SessionBilling:
        from therabill.sessions.billing import SessionBilling
        from therabill.sessions.charges import SessionCharges
        from therabill.sessions.copay import CopayBilling
        from therabill.sessions.fees import FeeBilling

        charges = SessionCharges(
            clients=self.clients, ledger=self.ledger, payments=self.payments, practices=self.practices
        )
        return SessionBilling(
            sessions=self.sessions,
            coverage=self.coverage,
            authorizations=self.authorizations,
            charges=charges,
            copay=CopayBilling(
                sessions=self.sessions,
                practices=self.practices,
                clients=self.clients,
                coverage=self.coverage,
                charges=charges,
                outbox=self.outbox,
            ),
            fees=FeeBilling(
                sessions=self.sessions,
                practices=self.practices,
                clients=self.clients,
                coverage=self.coverage,
                ledger=self.ledger,
                charges=charges,
                outbox=self.outbox,
            ),
        )

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
    def booking_rules(self) -> BookingRules:
        from therabill.bookings.rules import BookingRules
        from therabill.bookings.store import BookingStore

        return BookingRules(store=BookingStore(self.table), clock=self.clock)

    @cached_property
    def bookings(self) -> BookingService:
        # Longer than most: the booking concerns (book, pay page, confirm, release) composed in one place.
        from therabill.bookings.booking import BookingDesk, BookingPayments
        from therabill.bookings.confirmation import BookingConfirmation
        from therabill.bookings.pay_page import PayPages
        from therabill.bookings.planning import BookingPlanner
        from therabill.bookings.release import HoldRelease
        from therabill.bookings.service import BookingService
        from therabill.bookings.store import BookingStore

        store = BookingStore(self.table)
        pay_pages = PayPages(
            link_key=self.secrets.link_signing_key,
            public_base_url=self.public_base_url,
            clock=self.clock,
            practices=self.practices,
            sessions=self.sessions,
            payments=self.payments,
        )
        planner = BookingPlanner(
            rules=self.booking_rules,
            sessions=self.sessions,
            catalog=self.service_catalog,
            clients=self.clients,
            coverage=self.coverage,
            authorizations=self.authorizations,
            cards=self.cards,
            clock=self.clock,
        )
        payments = BookingPayments(
            payments=self.payments,
            sessions=self.sessions,
            pay_pages=pay_pages,
            clients=self.clients,
            outbox=self.outbox,
        )
        confirmation = BookingConfirmation(
            store=store, sessions=self.sessions, clients=self.clients, outbox=self.outbox, clock=self.clock
        )
        return BookingService(
            desk=BookingDesk(
                store=store,
                practices=self.practices,
                sessions=self.sessions,
                planner=planner,
                payments=payments,
            ),
            pay_pages=pay_pages,
            confirmation=confirmation,
            release=HoldRelease(
                store=store,
                practices=self.practices,
                sessions=self.sessions,
                payments=self.payments,
                confirmation=confirmation,
                clock=self.clock,
            ),
        )

    # -- the clearinghouse -------------------------------------------------------------------
    @cached_property
    def clearinghouse(self) -> Clearinghouse:
        """Stedi in AWS; locally the sandbox clearinghouse, which speaks Stedi's API (tests may
        assign their own)."""
        from therabill.adapters.http_client import RetryingClient, RetryPolicy
        from therabill.adapters.stedi import StediClearinghouse, StediEndpoints

        url = self.settings.clearinghouse_url
        # A real-time check waits on the payer: two tries of at most 6 s (and 0.5 s between) fit
        # the API functions' 15 s, so the caller gets an answer or "retry later" in time.
        client = RetryingClient(timeout_seconds=6, retry=RetryPolicy(attempts=2, backoff_seconds=0.5))
        return StediClearinghouse(
            self._stedi_key,
            endpoints=StediEndpoints.at(url) if url else None,
            client=client,
        )

    def _stedi_key(self) -> str:
        key = self.secrets.stedi_api_key
        if not key and self.settings.clearinghouse_url:
            return "sandbox"  # the sandbox takes any key
        if not key:
            from therabill.clearinghouse.errors import ClearinghouseUnavailableError

            raise ClearinghouseUnavailableError("any call: no clearinghouse key is configured")
        return key

    @cached_property
    def x12_counters(self) -> X12CounterStore:
        from therabill.clearinghouse.store import X12CounterStore

        return X12CounterStore(self.table)

    def control_numbers(self, practice_id: str) -> PracticeControlNumbers:
        """The practice's X12 control numbers, for the x12 writer."""
        from therabill.clearinghouse.store import PracticeControlNumbers

        return PracticeControlNumbers(self.x12_counters, practice_id)

    # -- eligibility (270/271) -----------------------------------------------------------------
    @cached_property
    def eligibility_documents(self) -> DocumentStore:
        """The raw 271s, in the private documents bucket (tests may assign their own)."""
        from therabill.adapters.s3 import S3Documents

        bucket = self.settings.documents_bucket
        assert bucket, "eligibility checks need the documents bucket"
        return S3Documents(self._client("s3"), bucket)

    @cached_property
    def eligibility(self) -> EligibilityService:
        from therabill.eligibility.service import EligibilityService
        from therabill.eligibility.store import EligibilityStore

        return EligibilityService(
            store=EligibilityStore(self.table),
            clients=self.clients,
            coverage=self.coverage,
            practices=self.practices,
            providers=self.providers,
            clearinghouse=lambda: self.clearinghouse,
            documents=lambda: self.eligibility_documents,
            control_numbers=self.control_numbers,
            clock=self.clock,
        )

    @cached_property
    def eligibility_batch(self) -> EligibilityBatch:
        from therabill.eligibility.batch import EligibilityBatch

        return EligibilityBatch(
            checks=self.eligibility,
            sessions=self.sessions,
            clients=self.clients,
            coverage=self.coverage,
            practices=self.practices,
            clock=self.clock,
        )

    def practice_ids(self) -> list[str]:
        """Every practice, from the practices' nightly run schedules (never a Scan)."""
        from therabill.adapters.scheduler import NightlySchedules

        group = self.settings.scheduler_group
        assert group, "the practices are listed from the schedule group"
        return NightlySchedules(
            self._client("scheduler"), group=group, target_arn="", role_arn=""
        ).practice_ids()

    @cached_property
    def eligibility_requests(self) -> CheckRequests | None:
        """One-time schedules that check a coverage added or changed (None when the scheduler or
        the eligibility function is not configured: no check is asked for)."""
        scheduler, target = self.settings.scheduler, self.settings.eligibility_target_arn
        if scheduler is None or not target:
            return None
        from therabill.adapters.scheduler import EligibilitySchedules

        return EligibilitySchedules(
            self._client("scheduler"), group=scheduler.group, target_arn=target, role_arn=scheduler.role_arn
        )

    # -- the nightly run ---------------------------------------------------------------------
    @cached_property
    def nightly_queue(self) -> NightlyQueue | None:
        """The fan-out queue (None when not configured: runs cannot start). Tests assign their own."""
        url = self.settings.nightly_queue_url
        if not url:
            return None
        from therabill.adapters.sqs import SqsQueue

        return SqsQueue(self._client("sqs"), url)

    @cached_property
    def nightly_schedules(self) -> Any:
        """The per-practice schedules adapter (None when the scheduler is not configured)."""
        scheduler = self.settings.scheduler
        if scheduler is None:
            return None
        from therabill.adapters.scheduler import NightlySchedules

        return NightlySchedules(
            self._client("scheduler"),
            group=scheduler.group,
            target_arn=scheduler.target_arn,
            role_arn=scheduler.role_arn,
        )

    @cached_property
    def completion_requests(self) -> CompletionRequests | None:
        """One-time schedules that bill a session at completion (None when the scheduler is not
        configured: the nightly run bills it). Tests assign their own."""
        scheduler = self.settings.scheduler
        if scheduler is None:
            return None
        from therabill.adapters.scheduler import CompletionSchedules

        return CompletionSchedules(
            self._client("scheduler"),
            group=scheduler.group,
            target_arn=scheduler.target_arn,
            role_arn=scheduler.role_arn,
        )

    @cached_property
    def nightly(self) -> NightlyService:
        from therabill.nightly.service import build_nightly
        from therabill.nightly.store import NightlyStore

        return build_nightly(
            clock=self.clock,
            store=NightlyStore(self.table),
            practices=self.practices,
            clients=self.clients,
            coverage=self.coverage,
            authorizations=self.authorizations,
            sessions=self.sessions,
            providers=self.providers,
            cards=self.cards,
            ledger=self.ledger,
            payments=self.payments,
            invoices=self.invoices,
            outbox=self.outbox,
            queue=self.nightly_queue,
            run_once=self.nightly_schedules,
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


class _NoDirectory:
    """No user pool configured: every directory call fails loudly (nothing half-done quietly)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no staff user pool is configured ({name})")


class _LazyGateway:
    """Defers building (and importing) the Stripe adapter until a Stripe call is made."""

    def __init__(self, owner: Container) -> None:
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._owner.gateway, name)


_current: Container | None = None


def container() -> Container:
    global _current  # noqa: PLW0603 - one container per Lambda execution environment
    if _current is None:
        _current = Container(load_settings(os.environ))
    return _current


@contextmanager
def use(c: Container) -> Iterator[Container]:
    """Install ``c`` for the entry points (tests, the local system)."""
    global _current  # noqa: PLW0603
    previous, _current = _current, c
    try:
        yield c
    finally:
        _current = previous


def reset() -> None:
    global _current  # noqa: PLW0603
    _current = None
