"""Clinical's own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import NotFoundError


class NotSupervisedError(NotFoundError):
    """The clinician has no supervisor to clear."""
