"""Invoices: what a billing party is asked to pay, and the legal moves between statuses (pure).

An invoice bills ledger charges: each line names the charge's source key (``session:<ses>``,
``copay:<ses>``, ``fee:<ses>``, with ``:<owner>`` under split billing), or, for a standalone line
(a late fee, a product, a balance carried over), the charge the invoice posts itself
(``invoice:<inv>:<n>``). The balance is the total less the payments applied to it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from therabill.core.errors import ConflictError
from therabill.core.money import Money

InvoiceStatus = Literal["draft", "sending", "open", "paid", "overdue", "void", "uncollectible"]
InvoiceKind = Literal["session", "day", "period", "standalone", "monthly"]
# The kinds staff create (``monthly``: only the nightly run's consolidation of a monthly client).
StaffInvoiceKind = Literal["session", "day", "period", "standalone"]
LineCategory = Literal["charge", "late_fee", "product", "previous_balance", "other"]
InvoiceAction = Literal["send", "sent", "pay", "overdue", "void", "uncollectible", "reopen"]

ACCESS_CODE_DIGITS = 6
MAX_LINES = 40  # each charge line writes a guard item in the creation transaction (limit 100)
MAX_FAILED_CODES = 5  # wrong access codes before an invoice locks

# The legal moves: (from, action) → to. Anything else is a 409.
_MOVES: dict[tuple[str, str], InvoiceStatus] = {
    ("draft", "send"): "sending",
    ("sending", "sent"): "open",
    ("draft", "void"): "void",
    ("sending", "void"): "void",
    ("open", "void"): "void",
    ("overdue", "void"): "void",
    ("uncollectible", "void"): "void",
    ("open", "uncollectible"): "uncollectible",
    ("overdue", "uncollectible"): "uncollectible",
    ("open", "overdue"): "overdue",
    ("open", "pay"): "paid",
    ("overdue", "pay"): "paid",
    ("uncollectible", "pay"): "paid",
    ("sending", "pay"): "paid",
    ("paid", "reopen"): "open",  # a payment on it was refunded
}
# A payment may be applied in these statuses (a client may pay while the email is going out).
PAYABLE: frozenset[str] = frozenset({"sending", "open", "overdue", "uncollectible"})
# Statuses whose invoice can be resent to the billing party.
RESENDABLE: frozenset[str] = frozenset({"open", "overdue"})
# Statuses in which the charges an invoice bills are held by it (a void invoice frees them).
FINAL: frozenset[str] = frozenset({"paid", "void"})


def next_status(current: str, action: InvoiceAction) -> InvoiceStatus:
    """The status after ``action``, or ConflictError naming the current status."""
    to = _MOVES.get((current, action))
    if to is None:
        raise ConflictError(f"an invoice that is {current} cannot be {_VERB[action]}", current_status=current)
    return to


_VERB = {
    "send": "sent",
    "sent": "marked sent",
    "pay": "marked paid",
    "overdue": "marked overdue",
    "void": "voided",
    "uncollectible": "marked uncollectible",
    "reopen": "reopened",
}


def new_access_code() -> str:
    """Six digits from the operating system's CSPRNG (``secrets``), leading zeros kept."""
    return f"{secrets.randbelow(10**ACCESS_CODE_DIGITS):0{ACCESS_CODE_DIGITS}d}"


def format_number(n: int) -> str:
    return f"INV-{n:06d}"


CREDIT_APPLY = "credit-apply:"  # the ledger's source key of credit applied to a charge

# The ledger source keys of a session's charges: ``<prefix>:<ses>`` (and ``…:<owner>``).
SESSION_CHARGE_PREFIXES = ("session", "copay", "fee")


def session_of_source(source_key: str) -> str | None:
    """``session:<ses>``, ``copay:<ses>``, ``fee:<ses>`` (and ``…:<owner>``) → the session id;
    any other source key (a standalone line, a credit applied) → None."""
    parts = source_key.split(":")
    if len(parts) >= 2 and parts[0] in SESSION_CHARGE_PREFIXES:
        return parts[1]
    return None


@dataclass(frozen=True)
class InvoiceRef:
    """An invoice named across practices (the scheduled sweep's work list)."""

    practice_id: str
    invoice_id: str


class InvoiceLine(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    n: int  # 1-based position
    description: str
    amount: Money
    category: LineCategory
    source_key: str  # the ledger charge it bills (or posts, for a standalone line)
    session_id: str | None = None
    service_date: date | None = None


class AppliedPayment(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    payment_id: str
    amount: Money
    applied_at: datetime
    method: str = "card"


class Invoice(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    number: str
    client_id: str
    owner_id: str  # the billing party: the client or one of their billing contacts
    kind: InvoiceKind
    status: InvoiceStatus
    lines: tuple[InvoiceLine, ...]
    total: Money
    paid: Money
    payments: tuple[AppliedPayment, ...] = ()
    issue_date: date
    due_date: date
    period_start: date | None = None
    period_end: date | None = None
    memo: str = ""
    access_code: str
    failed_codes: int = 0
    locked_at: datetime | None = None
    created_at: datetime
    created_by: str
    sent_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None
    voided_from: str | None = None  # the status it was voided from
    uncollectible_at: datetime | None = None
    reminders_sent: int = 0
    next_reminder_at: datetime | None = None
    sends: int = 0  # emails of the invoice so far (first send and resends)
    pm_requests: int = 0  # requests for a new payment method emailed so far
    version: int = 1

    @property
    def balance(self) -> Money:
        return self.total - self.paid

    @property
    def locked(self) -> bool:
        return self.failed_codes >= MAX_FAILED_CODES

    @property
    def currency(self) -> str:
        return self.total.currency
