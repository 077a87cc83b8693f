"""The invoices' own errors. Each subclasses the core error the HTTP mapper already answers for
(a conflict is a 409), and carries what the caller needs to know."""

from __future__ import annotations

from therabill.core.errors import ConflictError


class InvoiceChangedError(ConflictError):
    """The invoice was changed since it was read (its version moved on): reload and retry."""


class InvoiceNotCreatedError(ConflictError):
    """The items of a new invoice could not all be written (a concurrent creation): try again."""


class NothingToInvoiceError(ConflictError):
    """The charges an invoice would bill are all on other invoices, collected, or paid by credit."""


class ChargeAlreadyInvoicedError(ConflictError):
    """A ledger charge is already billed by another invoice (``source_key`` names it)."""


class PaymentPointerError(ConflictError):
    """A payment is already recorded as paying another invoice (``payment_id`` names it)."""


class AttemptCounterError(ConflictError):
    """A pay-page attempt counter had no slot to give back (it changed under us)."""
