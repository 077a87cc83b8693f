"""An in-memory staff directory with the Cognito adapter's contract (tests/contract/
test_cognito_directory.py): users by staff id, a retried create answers the same user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from therabill.staff.errors import DirectoryConflictError, EmailRegisteredError, EmailUnavailableError


@dataclass
class FakeUser:
    sub: str
    practice_id: str
    email: str
    role: str
    enabled: bool = True
    sign_outs: int = 0
    signed_in: bool = False  # set by a test: the user chose their own password
    invitations: int = 1


@dataclass
class FakeDirectory:
    users: dict[str, FakeUser] = field(default_factory=dict)
    refused_emails: set[str] = field(default_factory=set)  # another user has it: AliasExistsException
    invalid_emails: set[str] = field(default_factory=set)  # the pool will not take it
    fail_next_create: bool = False

    def create_user(self, *, practice_id: str, staff_id: str, email: str, name: str, role: str) -> str:
        if self.fail_next_create:
            self.fail_next_create = False
            raise TimeoutError("the directory did not answer")
        existing = self.users.get(staff_id)
        if existing is not None:
            if existing.practice_id != practice_id:
                raise DirectoryConflictError("the sign-in service holds another user of this name")
            return existing.sub
        if email in self.refused_emails:
            raise EmailRegisteredError("this email address cannot be invited", field="email")
        if email in self.invalid_emails:
            raise EmailUnavailableError("this email address cannot be invited", field="email")
        self.users[staff_id] = FakeUser(
            sub=str(uuid.uuid4()), practice_id=practice_id, email=email, role=role
        )
        return self.users[staff_id].sub

    def email_registered(self, email: str) -> bool:
        return email in self.refused_emails or any(u.email == email for u in self.users.values())

    def resend_invitation(self, staff_id: str) -> bool:
        user = self.users.get(staff_id)
        if user is None or user.signed_in:
            return False
        user.invitations += 1
        return True

    def set_role(self, staff_id: str, role: str) -> None:
        self.users[staff_id].role = role

    def disable(self, staff_id: str) -> None:
        self.users[staff_id].enabled = False

    def enable(self, staff_id: str) -> None:
        self.users[staff_id].enabled = True

    def delete(self, staff_id: str) -> None:
        self.users.pop(staff_id, None)

    def sign_out(self, staff_id: str) -> None:
        if staff_id in self.users:
            self.users[staff_id].sign_outs += 1


@dataclass
class FakeNotices:
    """The staff notices port: what each address was told privately."""

    registered: list[tuple[str, str]] = field(default_factory=list)  # (practice id, email)

    def registered_elsewhere(self, practice_id: str, email: str) -> None:
        self.registered.append((practice_id, email))
