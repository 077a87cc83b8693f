"""Eligibility's own errors (each a core error, so the API answers the same status). Messages name
what is missing or what to do, never a value: a coverage and a 271 are health information."""

from __future__ import annotations

from therabill.core.errors import ConflictError, NotFoundError


class EligibilityCheckNotFoundError(NotFoundError):
    """No such check of this client."""


class EligibilityRefusedError(ConflictError):
    """A check cannot be made as things stand (no billing provider, a coverage removed or missing
    what the 270 needs): ``reason`` says what to do first."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason, reason=reason, **details)


class EligibilityInFlightError(ConflictError):
    """A check of the same client, payer and date of service is under way (``check_id``)."""
