"""Authorizations' own errors (each a core error, so the API answers the same status). Messages
name fields, never a value: an authorization's CPT codes and reference are health information."""

from __future__ import annotations

from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError


class AuthorizationNotFoundError(NotFoundError):
    """No such authorization of this client's coverage."""


class AuthorizationInvalidError(InvalidRequestError):
    """The authorization as asked is not one (dates the wrong way round, a removed coverage)."""


class AuthorizationChangedError(ConflictError):
    """The authorization changed since the version the caller read (``current_version``)."""


class AuthorizationRefusedError(ConflictError):
    """The practice refuses bookings beyond the client's authorization (``reason``: the problem
    code); staff may book the visit as self-pay instead."""


class AuthorizationKeepsChangingError(ConflictError):
    """The used count kept moving under concurrent completions; the same request later succeeds."""
