"""Practices' own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import AlreadyExistsError, ConflictError, NotFoundError


class PracticeNotFoundError(NotFoundError):
    """No such practice."""


class PracticeExistsError(AlreadyExistsError):
    """A practice with this id exists already."""


class PracticeChangedError(ConflictError):
    """The practice changed since the version the caller read (``current_version`` in details)."""
