"""Sign-up's own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from therabill.core.errors import ConflictError, TherabillError


class TooManySignupsError(TherabillError):
    """Too many sign-ups from one source IP or for one email in the current window (HTTP 429,
    ``retry_after`` seconds). Said alike for every address, registered or not."""


class SignupChangedError(ConflictError):
    """The sign-up moved on meanwhile (a concurrent retry): read it again."""
