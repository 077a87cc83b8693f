"""Sign-up: a practice and its first owner from an email, a practice name, a time zone and the
owner's name, made exactly once however often the request is retried or a crash cuts it short.

The sign-up item, keyed by a hash of the normalised email and put once, holds the practice id
the first request chose; each retry reads it and finishes what is missing: the practice
(``PracticeService.create``, an existing one is fine) and then its owner
(``StaffService.create_owner``, idempotent; the identity provider sends the invitation, which
names the practice, so the practice comes first). An address that already signs in anywhere
gets an email saying so instead, and the caller cannot tell the two apart.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from therabill.core.clock import Clock
from therabill.core.ids import new_id
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.practices.errors import PracticeExistsError
from therabill.practices.service import PracticeService
from therabill.signup import defaults, emails
from therabill.signup.errors import SignupChangedError, TooManySignupsError
from therabill.signup.models import Outcome, Signup, SignupForm, SignupStatus, email_key
from therabill.signup.store import SignupStore
from therabill.staff.errors import EmailUnavailableError, StaffNotFoundError
from therabill.staff.service import StaffService, normal_email


class AccountLookup(Protocol):
    """What sign-up asks the identity provider (the staff directory's adapter answers it)."""

    def email_registered(self, email: str) -> bool:
        """Whether a user signs in with this address already (any practice)."""
        ...


@dataclass(frozen=True)
class Limits:
    """Sign-ups allowed per fixed window: from one source IP, and for one email address."""

    per_ip: int = 10
    per_email: int = 3
    window: timedelta = timedelta(hours=1)


class SignupService:
    def __init__(
        self,
        *,
        store: SignupStore,
        practices: PracticeService,
        staff: StaffService,
        accounts: AccountLookup,
        outbox: Outbox,
        clock: Clock,
        sign_in_url: str,
        limits: Limits | None = None,
    ) -> None:
        self._store = store
        self._practices = practices
        self._staff = staff
        self._accounts = accounts
        self._outbox = outbox
        self._clock = clock
        self._sign_in_url = sign_in_url
        self._limits = limits or Limits()

    # -- the public form ------------------------------------------------------------------------
    def sign_up(self, form: SignupForm, *, source_ip: str) -> Outcome:
        """The public form: rate limited per source IP and per email, counted before anything
        else is read, so a registered and a new address are refused alike."""
        self._take_slot("ip", source_ip, self._limits.per_ip)
        self._take_slot("email", email_key(form.email), self._limits.per_email)
        try:
            return self.register(form)
        except Exception as exc:
            # Only a new address reaches the user pool and the practice's creation, so a fault
            # there (a throttled or unavailable dependency) must not answer differently from a
            # registered address: the form answers as always, and the sign-up item keeps its
            # place, so the person's next try (no email came) finishes it.
            logger.warning(
                "sign-up not finished; the next try completes it", extra={"error": type(exc).__name__}
            )
            return "unfinished"

    def _take_slot(self, kind: str, subject: str, limit: int) -> None:
        now = self._clock().timestamp()
        length = int(self._limits.window.total_seconds())
        window = int(now // length)
        end = (window + 1) * length
        if not self._store.take_slot(kind, subject, window, limit=limit, expires_at_epoch=end + length):
            raise TooManySignupsError(
                "too many sign-ups; try again later", retry_after=max(1, math.ceil(end - now))
            )

    def practice_of(self, email: str) -> str | None:
        """The practice the address's sign-up chose (the operator's script reports it)."""
        signup = self._store.get(email_key(email))
        return signup.practice_id if signup else None

    # -- the practice and its owner, once -------------------------------------------------------
    def register(self, form: SignupForm) -> Outcome:
        """Create the practice and its owner once (the operator's path calls this directly)."""
        email = normal_email(form.email)
        fresh = Signup(
            email_key=email_key(email),
            practice_id=new_id("prc"),
            practice_name=form.practice_name.strip(),
            time_zone=form.time_zone,
            owner_name=form.name.strip(),
            status="checking",
            created_at=self._clock(),
        )
        signup = self._store.start(fresh)
        if signup.status == "done":
            if not self._owner_removed(signup) or self._accounts.email_registered(email):
                return self._registered(signup, email)
            signup = self._reopen(signup, fresh)
            if signup.status == "done":  # reopened and finished by a concurrent request meanwhile
                return self._registered(signup, email)
        if signup.status == "checking":
            if self._accounts.email_registered(email):
                return self._registered(signup, email)
            signup = self._advance(signup, "creating")
        return self._create(signup, email)

    def _owner_removed(self, signup: Signup) -> bool:
        owner = self._staff.get(signup.practice_id, self._staff.owner_id(signup.practice_id))
        return owner.status == "removed"

    def _reopen(self, done: Signup, fresh: Signup) -> Signup:
        """The address made a practice once but has no sign-in now (its owner was removed there,
        which another owner of that practice did: the last owner cannot go): it may sign up a new
        practice. A concurrent request that reopened it first is as good."""
        try:
            return self._store.reopen(done, fresh)
        except SignupChangedError:
            current = self._store.get(done.email_key)
            assert current is not None, "a sign-up is never deleted"
            return current

    def _advance(self, signup: Signup, status: SignupStatus) -> Signup:
        """Move the sign-up on; a concurrent retry that moved it first is as good."""
        try:
            return self._store.advance(signup, status)
        except SignupChangedError:
            current = self._store.get(signup.email_key)
            assert current is not None, "a sign-up is never deleted"
            return current

    def _create(self, signup: Signup, email: str) -> Outcome:
        country, currency = defaults.country_and_currency(signup.time_zone)
        # A retry meets the practice the request a crash cut short made: as good.
        with contextlib.suppress(PracticeExistsError):
            self._practices.create(
                signup.practice_id,
                name=signup.practice_name,
                email=email,
                time_zone=signup.time_zone,
                cutoff_hour=defaults.CUTOFF_HOUR,
                currency=currency,
                country=country,
            )
        try:
            self._staff.create_owner(signup.practice_id, email, signup.owner_name)
        except EmailUnavailableError:
            # Registered since the check (another practice invited the address meanwhile): the
            # practice stays without an owner, and a later sign-up with the address retries it.
            return self._registered(signup, email)
        self._advance(signup, "done")
        return "created"

    def _registered(self, signup: Signup, email: str) -> Outcome:
        """The address already has an account: tell its owner (once an hour at most). The
        practice's own owner who never signed in (the invitation lasts 3 days, and a password
        that was never set cannot be reset) gets the invitation again instead."""
        if signup.status == "done" and self._resent(signup):
            return "reinvited"
        hour = self._clock().strftime("%Y%m%d%H")
        try:
            self._outbox.send_once(
                signup.practice_id,
                f"signup-registered:{signup.email_key[:32]}:{hour}",
                emails.already_registered(email, sign_in_url=self._sign_in_url),
            )
        except Exception as exc:  # the answer must not differ: logged, and a new sign-up resends
            logger.warning("sign-up notice not sent", error=type(exc).__name__)
        return "registered"

    def _resent(self, signup: Signup) -> bool:
        """The owner's invitation sent again, if that owner has not signed in yet."""
        owner = self._staff.owner_id(signup.practice_id)
        try:
            return self._staff.resend_invitation(signup.practice_id, owner)
        except StaffNotFoundError:  # removed since: the notice says how to sign in
            return False
