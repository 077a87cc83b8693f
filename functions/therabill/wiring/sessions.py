"""Sessions: the service catalogue, sessions and their billing, bookings, the nightly run."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from therabill.wiring.base import Base

if TYPE_CHECKING:
    from therabill.bookings.rules import BookingRules
    from therabill.bookings.service import BookingService
    from therabill.nightly.completion import CompletionRequests
    from therabill.nightly.service import NightlyQueue, NightlyService
    from therabill.services.catalog import ServiceCatalog
    from therabill.sessions.billing import SessionBilling
    from therabill.sessions.clinicians import ClinicianMigration
    from therabill.sessions.service import SessionService


class Sessions(Base):
    @cached_property
    def service_catalog(self) -> ServiceCatalog:
        from therabill.services.catalog import ServiceCatalog
        from therabill.services.store import ServiceStore

        return ServiceCatalog(store=ServiceStore(self.table), clock=self.clock)

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
