"""The chart of accounts and the lines each kind of entry posts (pure; no I/O).

Every journal entry is a list of lines (account, signed minor units), debits positive and credits
negative, that sum to zero. Two accounts belong to one *billing party account* — a client and who pays
(``owner`` None: the client themself; with split billing each billing contact that pays has its own):

* ``receivable`` — what that billing party owes (an asset of the practice; its balance is the sum of its
  lines and is never negative);
* ``credit`` — the billing party's unapplied credit (a liability; its balance is minus the sum of its
  lines and is never negative).

The others are the practice's: ``revenue`` (``revenue:products`` for what the store sells),
``adjustments`` (write-offs, waivers, goodwill) and
``cash:<method>`` (card, cash, check, insurance, other: money in, or out for a refund).

What each kind posts, for an amount A on a billing party account that owes R and holds credit C:

=========================  ====================================================================
charge                     Dr receivable A / Cr revenue A (then credit on hand is applied: below)
payment (card, cash, …)    Dr cash:<method> A / Cr receivable min(A, R) / Cr credit the rest
                           (an overpayment becomes credit; the receivable never goes negative)
payment, method ``credit`` Dr credit A / Cr receivable A — an *application* of credit to what is
                           due (needs A ≤ C and A ≤ R)
credit (deposit, goodwill) Dr cash:<method> A, or Dr adjustments A when the method is None /
                           Cr receivable min(A, R) / Cr credit the rest (credit posted while
                           something is due pays it at once)
adjustment                 Dr adjustments A / Cr receivable min(A, R) / Cr credit the rest (a
                           write-off larger than what is owed leaves the excess as credit)
credit reversal            Dr credit A / Cr cash:<method> A, or Cr adjustments A when the
                           method is None — a staff credit taken back (needs A ≤ C: only credit
                           still on hand is taken back, never what it already paid)
return                     Dr revenue A (``revenue:products``: a sale given back) / Cr receivable
                           min(A, R) / Cr credit the rest — less revenue, not a write-off
refund, chargeback         Dr credit min(A, C) / Dr receivable the rest / Cr cash:<method> A (the
                           money goes back; what the refunded payment paid is owed again, and
                           credit on hand is used for it first — a refunded deposit takes its
                           credit back)
=========================  ====================================================================

So a billing party account never holds both an open receivable and credit: whatever adds credit pays what
is due first, and whatever adds to what is due uses credit first (a charge through its application
entry, see ``application``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

EntryKind = Literal[
    "charge", "payment", "refund", "adjustment", "credit", "credit_reversal", "chargeback", "return"
]
PaymentMethod = Literal["card", "cash", "check", "credit", "insurance", "other"]

RECEIVABLE = "receivable"
CREDIT = "credit"
REVENUE = "revenue"
PRODUCT_REVENUE = "revenue:products"  # the equipment store's sales
ADJUSTMENTS = "adjustments"
PAYER_ACCOUNTS = frozenset({RECEIVABLE, CREDIT})


def cash(method: str) -> str:
    return f"cash:{method}"


class InsufficientCreditError(ValueError):
    """An application of credit larger than the credit on hand or than what is due."""


class Line(BaseModel):
    """One leg of an entry: debits positive, credits negative, in minor units."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    account: str
    amount: int


@dataclass(frozen=True)
class Position:
    """A billing party account's receivable and credit (both ≥ 0)."""

    receivable: int = 0
    credit: int = 0

    @property
    def owed(self) -> int:
        return self.receivable - self.credit


def effect(lines: tuple[Line, ...]) -> Position:
    """What lines change on the billing party account: (Δ receivable, Δ credit)."""
    receivable = sum(line.amount for line in lines if line.account == RECEIVABLE)
    credit = -sum(line.amount for line in lines if line.account == CREDIT)
    return Position(receivable=receivable, credit=credit)


def _lines(*pairs: tuple[str, int]) -> tuple[Line, ...]:
    out = tuple(Line(account=a, amount=v) for a, v in pairs if v != 0)
    assert sum(line.amount for line in out) == 0, "unbalanced entry"
    return out


def _settle(source: str, amount: int, at: Position) -> tuple[Line, ...]:
    """Money or value in: pays what is due first, the rest becomes credit."""
    paid = min(amount, at.receivable)
    return _lines((source, amount), (RECEIVABLE, -paid), (CREDIT, -(amount - paid)))


def lines_for(
    kind: EntryKind, method: PaymentMethod | None, amount: int, at: Position, *, revenue: str = REVENUE
) -> tuple[Line, ...]:
    """The lines of an entry of ``kind`` for ``amount`` (> 0) on an account standing at ``at``
    (a charge credits ``revenue``, a return debits it: the practice's services, or
    ``PRODUCT_REVENUE``)."""
    if amount <= 0:
        raise ValueError("ledger amounts are positive; the kind gives the direction")
    if kind == "charge":
        return _lines((RECEIVABLE, amount), (revenue, -amount))
    if kind == "payment" and method == "credit":
        if amount > at.credit or amount > at.receivable:
            raise InsufficientCreditError("an application of credit exceeds the credit or what is due")
        return application_lines(amount)
    if kind == "payment":
        return _settle(cash(method or "other"), amount, at)
    if kind in ("credit", "adjustment", "return"):
        if kind == "credit" and method == "credit":
            raise ValueError("a credit is paid in by a method (or is goodwill: method None)")
        source = cash(method) if method and kind == "credit" else ADJUSTMENTS
        return _settle(revenue if kind == "return" else source, amount, at)
    if kind == "credit_reversal":
        if amount > at.credit:
            raise InsufficientCreditError("a credit taken back exceeds the credit on hand")
        return _lines((CREDIT, amount), (cash(method) if method else ADJUSTMENTS, -amount))
    # refund, chargeback: money goes back out
    taken = min(amount, at.credit)
    return _lines((CREDIT, taken), (RECEIVABLE, amount - taken), (cash(method or "card"), -amount))


def application(due: int, at: Position) -> int:
    """How much credit applies to a new amount ``due`` (already added to the receivable)."""
    return max(0, min(at.credit, due, at.receivable))


def application_lines(amount: int) -> tuple[Line, ...]:
    return _lines((CREDIT, amount), (RECEIVABLE, -amount))
