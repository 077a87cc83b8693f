"""The staff of a practice: invitations, roles, disabling and removal, and the per-request check.

The staff item is the truth: a change is written there first (with the owner count, see
store.py), then the directory (Cognito) follows, so a role change or removal holds from the very
next request whatever the tokens still in circulation say.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable

from therabill.core import keys
from therabill.core.clock import Clock
from therabill.core.errors import InvalidRequestError
from therabill.core.ids import derived_id, new_id
from therabill.staff.directory import StaffDirectory, StaffNotices
from therabill.staff.errors import (
    EmailRegisteredError,
    NotAClinicianError,
    StaffChangedError,
    StaffExistsError,
    StaffNotFoundError,
    StaffRefusedError,
    TooManyInvitationsError,
)
from therabill.staff.models import CLINICAL_ROLES, ROLES, Role, StaffMember
from therabill.staff.store import StaffStore

# Invitations a practice may send in a day, and an address may receive from any practices in a
# day: anyone can sign a practice up, so without them one could mail (or hold) any address at will.
INVITES_PER_PRACTICE_PER_DAY = 30
INVITES_PER_ADDRESS_PER_DAY = 3
_DAY_SECONDS = 86_400

_ATTEMPTS = 3  # a change re-read and retried when a concurrent one (a first sign-in) moved the version


def normal_email(email: str) -> str:
    return email.strip().lower()


def _role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(sorted(ROLES))}", field="role")
    return role  # type: ignore[return-value]  # checked against ROLES just above


class StaffService:
    def __init__(
        self, *, store: StaffStore, directory: StaffDirectory, notices: StaffNotices, clock: Clock
    ) -> None:
        self._store = store
        self._directory = directory
        self._notices = notices
        self._clock = clock

    # -- creating -------------------------------------------------------------------------------
    def _count_invitation(self, practice_id: str, email: str) -> None:
        """One invitation counted against the practice's day and the address's day, before
        anything is written; over either limit: TooManyInvitationsError (429), nothing counted
        past it. The same refusal for every address, one with an account or not."""
        now = int(self._clock().timestamp())
        window = now // _DAY_SECONDS
        end = (window + 1) * _DAY_SECONDS
        address = hashlib.sha256(email.encode()).hexdigest()
        limits = (
            (keys.practice_pk(practice_id), keys.invite_window_sk(window), INVITES_PER_PRACTICE_PER_DAY),
            (keys.invite_address_pk(address), keys.invite_window_sk(window), INVITES_PER_ADDRESS_PER_DAY),
        )
        for pk, sk, limit in limits:
            if not self._store.take_invitation_slot(pk, sk, limit=limit, expires_at_epoch=end + _DAY_SECONDS):
                raise TooManyInvitationsError(
                    "too many invitations today; try again tomorrow", retry_after=max(1, end - now)
                )

    def invite(self, practice_id: str, *, email: str, name: str, role: str) -> StaffMember:
        """A new member, invited by email. Nothing is left behind if the directory refuses (or the
        day's invitations are used up: counted once the member passed this practice's checks,
        before the directory is asked)."""
        member = StaffMember(
            id=new_id("stf"),
            practice_id=practice_id,
            email=normal_email(email),
            name=name.strip(),
            role=_role(role),
            status="invited",
            created_at=self._clock(),
            version=1,
        )
        self._store.create(member)
        try:
            self._count_invitation(practice_id, member.email or "")
            return self._provision_or_notify(member)
        except BaseException:
            with contextlib.suppress(Exception):  # a user the failed call may have made goes too
                self._directory.delete(member.id)
            self._store.discard(member)
            raise

    def add_without_sign_in(
        self, practice_id: str, *, name: str, role: str = "clinician", staff_id: str | None = None
    ) -> StaffMember:
        """A member who does not sign in (a clinician the practice books sessions for): no email,
        no user in the directory, active at once. Never an owner (an owner must be able to act).
        ``staff_id``: a derived id, so a retry reads back the member made before."""
        if _role(role) == "owner":
            raise InvalidRequestError("an owner must sign in: invite them by email", field="role")
        member = StaffMember(
            id=staff_id or new_id("stf"),
            practice_id=practice_id,
            email=None,
            name=name.strip(),
            role=_role(role),
            status="active",
            created_at=self._clock(),
            version=1,
        )
        try:
            self._store.create(member)
        except StaffExistsError:
            return self._store.get(practice_id, member.id)
        return member

    def invite_later(self, practice_id: str, staff_id: str, email: str) -> StaffMember:
        """A member with no sign-in is invited by email now (a user, the invitation; ``invited``).
        A retry with the same email finishes the same invitation; nothing stays if the directory
        refuses."""
        member = self._store.get(practice_id, staff_id)
        email = normal_email(email)
        if member.email == email and member.status == "invited":  # a retry: the same invitation
            return member if member.sub else self._provision_or_notify(member)
        if member.signs_in or member.status != "active":
            raise StaffChangedError(
                "only an active staff member with no sign-in can be invited", status=member.status
            )
        member = self._store.give_email(member, email)
        try:
            self._count_invitation(practice_id, email)
            return self._provision_or_notify(member)
        except BaseException:
            with contextlib.suppress(Exception):
                self._directory.delete(member.id)
            self._store.take_email_back(member)
            raise

    def create_owner(self, practice_id: str, email: str, name: str) -> StaffMember:
        """The practice's first owner (sign-up). Idempotent: a retry, however far the first
        attempt got, finishes the same member and the same user, never a second."""
        member = StaffMember(
            id=self.owner_id(practice_id),
            practice_id=practice_id,
            email=normal_email(email),
            name=name.strip(),
            role="owner",
            status="invited",
            created_at=self._clock(),
            version=1,
        )
        try:
            self._store.create(member)
        except StaffExistsError:
            member = self._store.get(practice_id, member.id)
        if member.sub:
            return member
        return self._provision(member)

    def _provision_or_notify(self, member: StaffMember) -> StaffMember:
        """The invitation's user, made; or, for an address that has a sign-in already (with this
        practice's members it cannot: the email guard), the member kept as invited with no user and
        the address told privately. The inviter hears the same as for any invitation — an answer
        that differed would tell them the address has an account with some other practice — and
        sees a member who has not accepted yet; removing them, or inviting another address, is
        theirs to do."""
        try:
            return self._provision(member)
        except EmailRegisteredError:
            self._notices.registered_elsewhere(member.practice_id, member.email or "")
            return member

    def _provision(self, member: StaffMember) -> StaffMember:
        if member.email is None:  # pragma: no cover - only members with an email are provisioned
            raise AssertionError("a member with no email has no user")
        sub = self._directory.create_user(
            practice_id=member.practice_id,
            staff_id=member.id,
            email=member.email,
            name=member.name,
            role=member.role,
        )
        return self._store.set_sub(member, sub)

    # -- reading --------------------------------------------------------------------------------
    def get(self, practice_id: str, staff_id: str) -> StaffMember:
        return self._store.get(practice_id, staff_id)

    def owner_id(self, practice_id: str) -> str:
        """The staff id of the practice's first owner (the one sign-up makes)."""
        return derived_id("stf", practice_id, "owner")

    def resend_invitation(self, practice_id: str, staff_id: str) -> bool:
        """Invite a member who has not signed in yet again (a new temporary password). False
        when there is nothing to resend: they have signed in, or have no user."""
        member = self._store.get(practice_id, staff_id)
        if member.status != "invited" or member.sub is None:
            return False
        return self._directory.resend_invitation(member.id)

    def clinicians(self, practice_id: str, named: dict[str, str]) -> dict[str, StaffMember]:
        """The members ``named`` (field → staff id; one batch read), each a clinician or owner of
        this practice who is not removed; else NotAClinicianError naming the field."""
        found = self._store.get_many(practice_id, list(named.values()))
        out: dict[str, StaffMember] = {}
        for field, staff_id in named.items():
            member = found.get(staff_id)
            if member is None:
                raise NotAClinicianError(f"{field} names no staff member of this practice", field=field)
            if member.status == "removed":
                raise NotAClinicianError(f"{field} names a removed staff member", field=field)
            if member.role not in CLINICAL_ROLES:
                raise NotAClinicianError(
                    f"{field} names a staff member who is not a clinician or owner", field=field
                )
            out[field] = member
        return out

    def by_email(self, practice_id: str, email: str) -> StaffMember | None:
        return self._store.by_email(practice_id, normal_email(email))

    def list_members(self, practice_id: str) -> list[StaffMember]:
        """The practice's members, removed ones left out, oldest first (by when they were made:
        the sign-up's owner has a derived id, which does not sort by time as new ids do)."""
        members = [m for m in self._store.list_all(practice_id) if m.status != "removed"]
        return sorted(members, key=lambda m: (m.created_at, m.id))

    # -- changing -------------------------------------------------------------------------------
    def update(
        self, practice_id: str, staff_id: str, *, role: str | None = None, name: str | None = None
    ) -> StaffMember:
        """A new role and/or name. The claim in the directory follows the role."""
        changes: dict[str, str] = {}
        if role is not None:
            changes["role"] = _role(role)
        if name is not None:
            changes["name"] = name.strip()

        def change(m: StaffMember) -> StaffMember:
            self._refuse_removed(m)
            if changes.get("role") == "owner" and not m.signs_in:
                raise InvalidRequestError("an owner must sign in: invite them by email first", field="role")
            return m.model_copy(update=changes)

        member = self._apply(practice_id, staff_id, change)
        if role is not None and member.sub:
            self._directory.set_role(member.id, member.role)
        return member

    def change_role(self, practice_id: str, staff_id: str, role: str) -> StaffMember:
        return self.update(practice_id, staff_id, role=role)

    def disable(self, practice_id: str, staff_id: str) -> StaffMember:
        """May not sign in or make requests any more; signed out everywhere."""

        def change(m: StaffMember) -> StaffMember:
            self._refuse_removed(m)
            return m.model_copy(update={"status": "disabled"})

        member = self._apply(practice_id, staff_id, change)
        if member.sub:
            self._directory.disable(member.id)
            self._directory.sign_out(member.id)
        return member

    def enable(self, practice_id: str, staff_id: str) -> StaffMember:
        def change(m: StaffMember) -> StaffMember:
            self._refuse_removed(m)
            if m.status != "disabled":
                return m
            active = m.activated_at is not None or not m.signs_in  # no sign-in: active at once
            return m.model_copy(update={"status": "active" if active else "invited"})

        member = self._apply(practice_id, staff_id, change)
        if member.sub:
            self._directory.enable(member.id)
        return member

    def remove(self, practice_id: str, staff_id: str) -> StaffMember:
        """Gone for good: the item stays (status removed, so records still name them), the
        email may be invited again, the user is signed out and deleted."""
        member = self._apply(practice_id, staff_id, lambda m: m.model_copy(update={"status": "removed"}))
        self._directory.sign_out(member.id)
        self._directory.delete(member.id)
        return member

    def _apply(
        self, practice_id: str, staff_id: str, change: Callable[[StaffMember], StaffMember]
    ) -> StaffMember:
        for attempt in range(_ATTEMPTS):
            before = self._store.get(practice_id, staff_id)
            after = change(before)
            if after == before:
                return before
            try:
                return self._store.replace(before, after)
            except StaffChangedError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _refuse_removed(m: StaffMember) -> None:
        if m.status == "removed":
            raise StaffChangedError("this staff member was removed", status=m.status)

    # -- the per-request check ------------------------------------------------------------------
    def _adopt(self, member: StaffMember, sub: str) -> StaffMember:
        try:
            return self._store.set_sub(member, sub)
        except StaffChangedError as exc:  # another user was recorded meanwhile
            raise StaffRefusedError("the token's user is not this staff member") from exc

    def authenticate(self, practice_id: str, staff_id: str, sub: str) -> StaffMember:
        """The member a token names, if they may make requests now: their item exists, names
        the token's user and is enabled. An invited member's first request activates them."""
        try:
            member = self._store.get(practice_id, staff_id)
        except StaffNotFoundError as exc:
            raise StaffRefusedError("the token names no staff member of this practice") from exc
        if member.sub is None and member.status == "invited" and sub:
            # The invitation's user was made but its sub never recorded (the request that made it
            # died in between): the token proves the user, since only this service sets a user's
            # staff and practice claims, once, when it creates the user for this member.
            member = self._adopt(member, sub)
        if member.sub is None or member.sub != sub:
            raise StaffRefusedError("the token's user is not this staff member")
        if not member.enabled:
            raise StaffRefusedError(f"this staff member is {member.status}", status=member.status)
        if member.status == "invited":
            member = self._store.activate(member, self._clock())
            if not member.enabled:
                raise StaffRefusedError(f"this staff member is {member.status}", status=member.status)
        return member
