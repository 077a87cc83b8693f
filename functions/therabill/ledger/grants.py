"""Credits staff grant: a credit on a billing party account with a reason, and its take-back.

* **Grant**: a ``credit`` entry, source ``staff-credit:<crd>`` (the credit id is derived from the
  practice and the request's Idempotency-Key, so a retry posts nothing twice). Goodwill and a
  discount are booked to the practice's adjustments (method None); money paid outside Stripe to
  ``cash:other``. Like any credit it pays what is owed first and the rest waits for the next
  charge (``post_charge`` applies it).
* **Take-back**: a new ``credit_reversal`` entry (Dr credit / Cr the account the grant booked to),
  never an edit. One per credit: its source ``staff-credit-reversal:<crd>`` is guarded, so two
  take-backs at once post one. It takes back only what is still unused: at most the grant's
  amount and at most the credit the account holds now (credit already applied to a charge is
  spent; taking it back would make the billing party owe again, which is a charge's job). The
  request's own id (from its Idempotency-Key) is stored on the entry as its ``reference``: the same
  request again answers the same take-back; another request for a credit taken back is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.ids import derived_id
from therabill.core.money import Money
from therabill.ledger.chart import CREDIT, InsufficientCreditError, PaymentMethod
from therabill.ledger.errors import CreditNotAvailableError, CreditTakenBackError
from therabill.ledger.models import LedgerEntry, owner_of
from therabill.ledger.service import LedgerService

CreditReason = Literal["goodwill", "discount", "paid_outside_stripe"]
LABELS: dict[CreditReason, str] = {
    "goodwill": "Goodwill credit",
    "discount": "Discount",
    "paid_outside_stripe": "Paid outside Stripe",
}
_METHOD: dict[CreditReason, PaymentMethod | None] = {
    "goodwill": None,
    "discount": None,
    "paid_outside_stripe": "other",
}
GRANT = "staff-credit:"
REVERSAL = "staff-credit-reversal:"


@dataclass(frozen=True)
class StaffCredit:
    """A granted credit (its entry) and, once taken back, the take-back's entry."""

    id: str
    reason: CreditReason
    grant: LedgerEntry
    taken_back: LedgerEntry | None = None


def _memo(label: str, memo: str) -> str:
    return f"{label} — {memo}" if memo else label


def reason_of(entry: LedgerEntry) -> CreditReason:
    """The reason a grant was given (its memo starts with the reason's label)."""
    for reason, label in LABELS.items():
        if entry.memo.startswith(label):
            return reason
    return "goodwill"


class StaffCredits:
    def __init__(self, *, ledger: LedgerService) -> None:
        self._ledger = ledger

    def grant(
        self,
        practice_id: str,
        *,
        client_id: str,
        owner_id: str | None,
        request_key: str,
        amount: Money,
        reason: CreditReason,
        memo: str,
    ) -> StaffCredit:
        """Post the credit once per request key (the same key for another credit: 409)."""
        credit_id = derived_id("crd", practice_id, request_key)
        owner = owner_of(client_id, owner_id)
        entry = self._ledger.post(
            practice_id,
            client_id=client_id,
            kind="credit",
            amount=amount,
            source_key=GRANT + credit_id,
            memo=_memo(LABELS[reason], memo),
            method=_METHOD[reason],
            owner_id=owner,
            reference=credit_id,
        )
        if entry is None:
            entry = self._ledger.posted(practice_id, GRANT + credit_id)
            same = entry is not None and (entry.client_id, entry.owner_id, entry.amount) == (
                client_id,
                owner,
                amount,
            )
            if entry is None or not same or reason_of(entry) != reason:
                raise ConflictError("this Idempotency-Key was used for another credit")
        return self.get(practice_id, client_id, credit_id, entry=entry)

    def get(
        self, practice_id: str, client_id: str, credit_id: str, *, entry: LedgerEntry | None = None
    ) -> StaffCredit:
        grant = entry or self._ledger.posted(practice_id, GRANT + credit_id)
        if grant is None or grant.client_id != client_id:
            raise NotFoundError("credit not found", credit_id=credit_id)
        back = self._ledger.posted(practice_id, REVERSAL + credit_id)
        return StaffCredit(credit_id, reason_of(grant), grant, back)

    def take_back(
        self,
        practice_id: str,
        *,
        client_id: str,
        credit_id: str,
        request_key: str,
        amount: int | None,
        memo: str,
    ) -> StaffCredit:
        """Take back what is unused of a credit (``amount`` None: all of it), once per credit."""
        credit = self.get(practice_id, client_id, credit_id)
        reversal_id = derived_id("crr", practice_id, request_key)
        if credit.taken_back is not None:
            return self._taken_back_already(credit, reversal_id)
        grant = credit.grant
        wanted = self._within_unused(practice_id, credit, amount)
        try:
            entry = self._ledger.post(
                practice_id,
                client_id=client_id,
                kind="credit_reversal",
                amount=Money(amount=wanted, currency=grant.amount.currency),
                source_key=REVERSAL + credit_id,
                memo=_memo(f"{LABELS[credit.reason]} taken back", memo),
                method=grant.method,
                owner_id=grant.owner_id,
                reference=reversal_id,
            )
        except InsufficientCreditError as exc:  # the credit was used (or taken back) meanwhile
            current = self.get(practice_id, client_id, credit_id)
            if current.taken_back is not None:
                return self._taken_back_already(current, reversal_id)
            raise CreditNotAvailableError(
                "the credit was used meanwhile", field="amount", credit_id=credit_id
            ) from exc
        if entry is None:  # another take-back got there first
            return self._taken_back_already(self.get(practice_id, client_id, credit_id), reversal_id)
        return StaffCredit(credit_id, credit.reason, grant, entry)

    def _within_unused(self, practice_id: str, credit: StaffCredit, amount: int | None) -> int:
        """What to take back: ``amount`` (None: all that is unused), at most what is unused of the
        grant (else 409 with ``unused``). Credit is spent oldest first: of the credit the account
        holds now, what came in after the grant (a payment beyond what was owed, a later grant)
        is the client's own and is not this grant's to take back."""
        grant = credit.grant
        held = self._ledger.account(
            practice_id, grant.client_id, grant.amount.currency, grant.owner_id
        ).credit
        later = self._ledger.entries(practice_id, grant.client_id, since=grant.posted_at)
        added_after = sum(
            credit_added(entry)
            for entry in later
            if entry.id > grant.id
            and owner_of(entry.client_id, entry.owner_id) == owner_of(grant.client_id, grant.owner_id)
            and entry.amount.currency == grant.amount.currency
        )
        unused = max(0, min(grant.amount.amount, held - added_after))
        wanted = unused if amount is None else amount
        if wanted > unused or wanted <= 0:
            raise CreditNotAvailableError(
                "more than is unused of this credit", field="amount", unused=unused, credit_id=credit.id
            )
        return wanted

    @staticmethod
    def _taken_back_already(credit: StaffCredit, reversal_id: str) -> StaffCredit:
        """The same request again answers its take-back; another one is refused (also while the
        other request's entry is not readable yet)."""
        if credit.taken_back is None:
            raise CreditTakenBackError(
                "this credit is being taken back by another request", credit_id=credit.id
            )
        if credit.taken_back.reference == reversal_id:
            return credit
        raise CreditTakenBackError(
            "this credit was taken back already", credit_id=credit.id, entry_id=credit.taken_back.id
        )


def credit_added(entry: LedgerEntry) -> int:
    """What an entry added to its account's credit (0 when it used or took back credit)."""
    return max(0, -sum(line.amount for line in entry.lines if line.account == CREDIT))
