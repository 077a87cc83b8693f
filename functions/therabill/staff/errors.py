"""Staff's own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
)


class StaffNotFoundError(NotFoundError):
    """No such staff member in this practice."""


class StaffExistsError(AlreadyExistsError):
    """A member with this id exists already (a retried create reads it back)."""


class StaffEmailTakenError(AlreadyExistsError):
    """A staff member of this practice has this email already."""


class EmailUnavailableError(AlreadyExistsError):
    """The identity provider refused the email. Says nothing of where else it is used."""


class EmailRegisteredError(EmailUnavailableError):
    """The address already belongs to a user (a sign-in, of this practice or another): the
    invitation cannot make a second. Never said to the inviter (it would tell them the address has
    an account elsewhere); the address hears of it privately (``StaffNotices``)."""


class LastOwnerError(ConflictError):
    """The change would leave the practice with no owner who can act."""


class StaffChangedError(ConflictError):
    """The member changed meanwhile, or the change is not legal from its status (``status``)."""


class StaffRefusedError(UnauthorizedError):
    """The token's staff member may not make requests (missing, disabled, removed, or another
    user)."""


class DirectoryConflictError(ConflictError):
    """The directory holds a user of this name with other claims (never the same member)."""


class NotAClinicianError(InvalidRequestError):
    """The id sent (``field``) names no clinician of this practice: no such member here, a member
    removed, or one whose role may not treat. Says nothing of any other practice."""


class TooManyInvitationsError(TooManyRequestsError):
    """The practice's or the address's invitations for today are used up (429, ``retry_after``)."""
