"""Coverage's own errors (each a core error, so the API answers the same status). Their messages
name fields, never a value: a coverage holds health information."""

from __future__ import annotations

from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError


class CoverageNotFoundError(NotFoundError):
    """No such coverage of this client."""


class CoverageInvalidError(InvalidRequestError):
    """The coverage as asked is not one (dates the wrong way round, a subscriber missing)."""


class CoverageOverlapError(ConflictError):
    """Another coverage of the same rank (primary, secondary) covers some of the same days."""


class CoverageChangedError(ConflictError):
    """The coverage changed since the version the caller read (``current_version``)."""


class CoverageRemovedError(ConflictError):
    """The coverage was removed (entered in error): nothing more is added to it."""
