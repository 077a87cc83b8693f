"""The nightly run's refusals to staff (each a core error, so the API answers its status)."""

from __future__ import annotations

from therabill.core.errors import ConflictError, InvalidRequestError


class AutoBillingOnError(ConflictError):
    """Staff billing now is for a practice with auto-billing off (on: the run bills at the cutoff)."""


class StaffRunTakenError(ConflictError):
    """The run of this date (``run_id``) is still billing: more sessions once it is done."""


class NotReadyError(InvalidRequestError):
    """Sessions chosen to bill now that are not Ready tonight (``session_ids``)."""
