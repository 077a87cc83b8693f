"""People: practices, staff, sign-up and invitations, clients, the audit trail."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from therabill.wiring.base import Base, _LazyGateway

if TYPE_CHECKING:
    from therabill.audit.archive import AuditArchive
    from therabill.audit.service import AuditService
    from therabill.clients.service import ClientService
    from therabill.practices.service import PracticeService
    from therabill.signup.invitation import InvitationMessages
    from therabill.signup.service import SignupService
    from therabill.staff.directory import StaffDirectory, StaffNotices
    from therabill.staff.service import StaffService


class People(Base):
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


class _NoDirectory:
    """No user pool configured: every directory call fails loudly (nothing half-done quietly)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no staff user pool is configured ({name})")
