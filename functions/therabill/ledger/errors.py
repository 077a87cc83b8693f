"""The ledger's own errors (each a core error, so the API answers the same status)."""

from __future__ import annotations

from typing import Any

from therabill.core.errors import ConflictError, DependencyUnavailableError
from therabill.ledger.models import Guard


class SourcePostedError(ConflictError):
    """The source key was posted before: its guard refused the transaction. ``guard`` is what it
    holds (None when the table did not return it)."""

    def __init__(self, source_key: str, guard: Guard | None, **details: Any) -> None:
        super().__init__("this source was posted before", source_key=source_key, **details)
        self.source_key = source_key
        self.guard = guard


class LedgerEntryMissingError(ConflictError):
    """A guard names an entry that is not there."""


class LedgerBusyError(DependencyUnavailableError):
    """The billing party account's summary kept changing under us: try again later."""


class CreditNotAvailableError(ConflictError):
    """A staff credit's take-back larger than what is unused of it (``unused``: the most it can be)."""


class CreditTakenBackError(ConflictError):
    """A staff credit is taken back once; this one was already (``entry_id``: the take-back)."""
