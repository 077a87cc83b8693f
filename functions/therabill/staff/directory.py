"""The port to the identity provider (Cognito in AWS and locally; moto in tests): the users who
sign in, each named by their staff id, their claims set from the staff member."""

from __future__ import annotations

from typing import Protocol


class StaffDirectory(Protocol):
    def create_user(self, *, practice_id: str, staff_id: str, email: str, name: str, role: str) -> str:
        """Create the user and send the invitation; returns the user's ``sub``. A retry for the
        same practice and staff id answers the user made before (no second invitation); a user of
        that name with other claims raises DirectoryConflictError, an email another user has
        EmailRegisteredError, one the provider will not take EmailUnavailableError."""
        ...

    def resend_invitation(self, staff_id: str) -> bool:
        """Send the invitation again, with a new temporary password, if the user has never signed
        in (the first one may have expired: it lasts 3 days, and a user who never set a password
        cannot reset one). True if sent; False for a user who has signed in, or none."""
        ...

    def set_role(self, staff_id: str, role: str) -> None: ...

    def disable(self, staff_id: str) -> None: ...

    def enable(self, staff_id: str) -> None: ...

    def delete(self, staff_id: str) -> None:
        """Delete the user; a user already gone is not an error."""
        ...

    def sign_out(self, staff_id: str) -> None:
        """Revoke every refresh token of the user (sign out everywhere); gone: not an error."""
        ...


class StaffNotices(Protocol):
    def registered_elsewhere(self, practice_id: str, email: str) -> None:
        """Tell the address, and only the address, that the practice invited it but it already has
        a sign-in (each belongs to one practice) and what to do. Never raises: the inviter's
        answer must not differ from any other invitation's."""
        ...
