"""Billing one session's open charges: invoice each billing party's charges (request key
``nightly:<ses>[:<owner>]``: the invoice id is derived from it, so a repeat meets the same
invoice), then charge the default card (the same request key: the payment id is derived from
it, written pending before Stripe; the invoice's payment pointer is written first, so a late
success still pays it), or send the invoice (the outbox sends it once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from therabill.cards.models import ChargeKind
from therabill.clients.service import ClientService
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from therabill.core.ids import derived_id
from therabill.core.writes import Write
from therabill.invoices.errors import (
    ChargeAlreadyInvoicedError,
    InvoiceNotCreatedError,
    NothingToInvoiceError,
)
from therabill.invoices.models import Invoice, InvoiceKind
from therabill.invoices.service import InvoiceService
from therabill.ledger.service import LedgerService
from therabill.nightly.models import ItemAction, ItemOutcome
from therabill.nightly.ports import Hooks
from therabill.payments.gateway import GatewayRejectedError
from therabill.payments.service import PaymentService
from therabill.practices.models import Practice
from therabill.sessions.models import Session
from therabill.sessions.store import SessionStore

RUN_BY = "nightly-run"
# The billing mark's run of a session billed at completion (``nightly.completion``), and its
# invoices' memo: a run resuming such a session asks for the same invoice (the same request).
COMPLETION_RUN = "at-completion"
MEMOS = {COMPLETION_RUN: "Billed at completion"}
NIGHTLY_MEMO = "Nightly billing"
MONTHLY_MEMO = "Monthly billing"
_NOT_CHARGEABLE = (
    InvalidRequestError,
    ConflictError,
    NotFoundError,
    DependencyUnavailableError,
    GatewayRejectedError,
)
_KIND_WORDS = {"session_fee": "session fees", "copay": "copays", "cancellation_fee": "cancellation fees"}
_RACES = 3  # tries at making an invoice whose charges another invoice is taking meanwhile
_KINDS: dict[str, ChargeKind] = {"session": "session_fee", "copay": "copay", "fee": "cancellation_fee"}


@dataclass(frozen=True)
class Billed:
    """What billing a session did: the worst outcome over its invoices, and the totals."""

    outcome: ItemOutcome
    billed: int = 0
    charged: int = 0
    invoice_ids: tuple[str, ...] = ()
    payment_ids: tuple[str, ...] = ()
    problem: str | None = None
    # Per session: (billed, charged) from the invoices' lines (a consolidation's records).
    shares: tuple[tuple[str, int, int], ...] = ()

    def share(self, session_id: str) -> tuple[int, int]:
        """What this billing billed and charged of one of its sessions (by the invoices' lines)."""
        return next(((b, c) for s, b, c in self.shares if s == session_id), (0, 0))

    def record(
        self, sessions: SessionStore, practice_id: str, session: tuple[str, str], at: datetime
    ) -> Write:
        """The session's (client id, session id) billing record ``started → done`` with what this
        billing did, for the transaction that finishes it (a run's item, or a completion's)."""
        client_id, session_id = session
        return sessions.billing_done_write(
            practice_id,
            client_id,
            session_id,
            outcome=self.outcome,
            billed=self.billed,
            charged=self.charged,
            invoice_ids=list(self.invoice_ids),
            payment_ids=list(self.payment_ids),
            problem=self.problem,
            at=at,
        )


class ConsentCheck(Protocol):
    """Whether a card's consent allows a charge of this kind and amount now."""

    def allows(
        self, practice: Practice, client_id: str, card_id: str, kind: ChargeKind, amount: int
    ) -> bool: ...


@dataclass(frozen=True)
class Batch:
    """What one billing invoices: one session (``kind`` session) or a monthly client's sessions
    (``kind`` monthly, dated from the first date of service to the last), under one request key."""

    key: str
    client_id: str
    sessions: tuple[Session, ...]
    memo: str
    kind: InvoiceKind = "session"
    period: tuple[date, date] | None = None

    @property
    def request(self) -> dict[str, Any]:
        """The invoice's creation arguments (besides the practice, key and party)."""
        one = self.kind == "session"
        start, end = self.period or (None, None)
        return {
            "client_id": self.client_id,
            "kind": self.kind,
            "session_id": self.sessions[0].id if one else None,
            "session_ids": () if one else tuple(s.id for s in self.sessions),
            "start": start,
            "end": end,
            "created_by": RUN_BY,
            "memo": self.memo,
        }


class Collected(NamedTuple):
    """One invoice's collection: (outcome, amount charged, payment id, problem)."""

    outcome: ItemOutcome
    charged: int
    payment_id: str | None
    problem: str | None


def _session_of(source_key: str) -> str | None:
    parts = source_key.split(":")
    if len(parts) >= 2 and parts[0] in ("session", "copay", "fee"):
        return parts[1]
    return None


def _kind_of(inv: Invoice) -> ChargeKind:
    prefixes = {line.source_key.split(":", 1)[0] for line in inv.lines}
    if len(prefixes) == 1 and next(iter(prefixes)) in _KINDS:
        return _KINDS[next(iter(prefixes))]
    return "balance"


class InvoiceCharger:
    def __init__(
        self,
        *,
        ledger: LedgerService,
        invoices: InvoiceService,
        payments: PaymentService,
        clients: ClientService,
        hooks: Hooks,
        consents: ConsentCheck | None = None,
    ) -> None:
        self._clients = clients
        self._consents = consents
        self._ledger = ledger
        self._invoices = invoices
        self._payments = payments
        self._hooks = hooks

    def bill(
        self, practice: Practice, session: Session, action: ItemAction, *, memo: str = NIGHTLY_MEMO
    ) -> Billed:
        """Invoice each billing party's open charges of the session, then charge the card or send
        (``memo``: the invoices', the same whoever resumes the billing)."""
        batch = Batch(
            key=f"nightly:{session.id}", client_id=session.client_id, sessions=(session,), memo=memo
        )
        return self.bill_batch(practice, batch, action)

    def bill_batch(self, practice: Practice, batch: Batch, action: ItemAction) -> Billed:
        """Invoice each billing party's open charges of the batch's sessions (request key
        ``<key>[:<owner>]``), then charge each party's card or send its invoice."""
        ids = {s.id for s in batch.sessions}
        since = min(s.created_at for s in batch.sessions)
        entries = [
            e
            for e in self._ledger.session_entries(practice.id, batch.client_id, since)
            if e.kind == "charge" and _session_of(e.source_key) in ids
        ]
        collected: list[Collected] = []
        invoices: list[Invoice] = []
        for owner in sorted({e.owner_id or "" for e in entries}):
            key = f"{batch.key}{f':{owner}' if owner else ''}"
            inv = self._invoice(practice, key, owner, batch)
            if inv is None:
                continue  # nothing left to invoice for this party (invoiced or collected already)
            self._hooks.checkpoint("invoiced")
            invoices.append(inv)
            collected.append(self._collect(practice, inv, key, action))
        return _summed(invoices, collected)

    def _invoice(self, practice: Practice, key: str, owner: str, batch: Batch) -> Invoice | None:
        """The party's invoice of the batch (made once per key), or None: nothing left to invoice.
        A charge another invoice took meanwhile (staff invoicing one session while a month is
        consolidated) is left out on a second try, never a reason to bill none of the rest."""
        for attempt in range(_RACES):
            try:
                inv, _ = self._invoices.create(
                    practice.id, request_key=key, owner_id=owner or None, **batch.request
                )
            except (ChargeAlreadyInvoicedError, InvoiceNotCreatedError):
                if attempt == _RACES - 1:
                    raise  # the message is retried
                continue
            except NothingToInvoiceError:  # invoiced or collected already
                return None
            return inv
        return None

    def _collect(self, practice: Practice, inv: Invoice, key: str, action: ItemAction) -> Collected:
        if inv.status == "paid":
            return Collected("charged", inv.paid.amount, None, None)
        if inv.status in ("open", "overdue"):
            return Collected("sent", 0, None, None)
        # The invoice shows what the party's credit already paid of its charges; the card is
        # asked for what is left, the same amount on every attempt (the key asks it once).
        due = inv.balance.amount
        payment_id = derived_id("pay", practice.id, key)
        existing = self._payment_exists(practice.id, payment_id)
        charge, why = self._charges(practice, inv, action), None
        if charge and not existing and (why := self._kinds_refused(practice, inv)) is not None:
            charge = False
        if charge or existing:
            if inv.status == "draft":
                inv = self._invoices.mark_sending(practice.id, inv)
            return self._charge(practice, inv, key, payment_id, due)
        return self._send_invoice(practice, inv, why=why)

    def _kinds_refused(self, practice: Practice, inv: Invoice) -> str | None:
        """An invoice of several kinds (a month of sessions and a no-show fee) is charged as a
        balance, and only where the card's consent covers each kind it bills, for its part: else
        why not (the invoice is sent). One kind: the charge itself checks it."""
        parts: dict[ChargeKind, int] = {}
        for line in inv.lines:
            kind = _KINDS.get(line.source_key.split(":", 1)[0], "balance")
            parts[kind] = parts.get(kind, 0) + line.amount.amount
        party = self._clients.billing_party(practice.id, inv.client_id, inv.owner_id)
        if len(parts) < 2 or self._consents is None or party.default_card_id is None:
            return None
        for kind, amount in sorted(parts.items()):
            if not self._consents.allows(practice, inv.client_id, party.default_card_id, kind, amount):
                return f"the card's consent does not cover {_KIND_WORDS.get(kind, kind)}"
        return None

    def _charges(self, practice: Practice, inv: Invoice, action: ItemAction) -> bool:
        """Whether the invoice's billing party's card is charged: their AutoPay (their own choice,
        else the practice's default) is on, and the item's action (decided on the client's card) is
        to charge, or, for a billing contact, the contact has a card of their own (their consent
        is checked by the charge; a refusal sends the invoice). Off: the invoice is sent and the
        card never charged."""
        party = self._clients.billing_party(practice.id, inv.client_id, inv.owner_id)
        if not party.autopay_on(practice.autopay_default):
            return False
        if party.is_contact:
            can = bool(practice.stripe and practice.stripe.charges_enabled)
            return can and party.default_card_id is not None
        return action == "charge"

    def _payment_exists(self, practice_id: str, payment_id: str) -> bool:
        try:
            self._payments.get(practice_id, payment_id)
        except NotFoundError:
            return False
        return True

    def _charge(self, practice: Practice, inv: Invoice, key: str, payment_id: str, due: int) -> Collected:
        self._invoices.point_payment(practice.id, payment_id, inv.id)
        self._hooks.checkpoint("pointer")
        try:
            payment = self._payments.charge_saved_card(
                practice.id,
                client_id=inv.client_id,
                request_key=key,
                amount=due,
                kind=_kind_of(inv),
                memo="Session billing",
                created_by=RUN_BY,
                owner_id=inv.owner_id if inv.owner_id != inv.client_id else None,
            )
        except _NOT_CHARGEABLE as exc:
            return self._send_invoice(practice, inv, why=exc.message)
        self._hooks.checkpoint("charged")
        if payment.status == "succeeded":
            self._invoices.apply_payment(practice.id, inv.id, payment.id, payment.amount, "card")
            return Collected("charged", payment.amount.amount, payment.id, None)
        if payment.status in ("pending", "requires_action"):
            return Collected("pending", 0, payment.id, None)
        why = payment.decline_code or payment.error_code or payment.status
        if payment.status == "declined" and payment.next_retry_at is not None:
            # One email, not two: the invoice waits (Sending) while the card is retried; a retry
            # that succeeds pays it (its pointer) and the client gets only the receipt, one given
            # up sends it (the invoices' given-up hook).
            retry = f"the card was declined ({why}); it is retried, and the invoice is sent if it fails"
            return Collected("pending", 0, payment.id, retry)
        sent = self._send_invoice(practice, inv, why=f"the card was declined ({why})")
        return Collected(sent.outcome, 0, payment.id, sent.problem)

    def _send_invoice(self, practice: Practice, inv: Invoice, *, why: str | None) -> Collected:
        try:
            self._invoices.send(practice.id, inv.id)
        except ConflictError as exc:
            current = self._invoices.get(practice.id, inv.id)
            if current.status in ("open", "overdue", "paid"):
                return Collected("sent", 0, None, why)
            return Collected("failed", 0, None, exc.message if why is None else f"{why}; {exc.message}")
        return Collected("sent", 0, None, why)


def _summed(invoices: list[Invoice], collected: list[Collected]) -> Billed:
    """The worst outcome first (failed, pending, sent, charged); the totals over every invoice."""
    if not collected:
        return Billed("nothing_to_bill")
    outcomes = [c.outcome for c in collected]
    worst = next((o for o in ("failed", "pending", "sent", "charged") if o in outcomes), outcomes[0])
    shares: dict[str, list[int]] = {}
    for inv, c in zip(invoices, collected, strict=True):
        for line in inv.lines:
            share = shares.setdefault(line.session_id or "", [0, 0])
            share[0] += line.amount.amount
            share[1] += line.amount.amount if c.outcome == "charged" else 0
    return Billed(
        outcome=worst,
        billed=sum(inv.total.amount for inv in invoices),
        shares=tuple((s, b, c) for s, (b, c) in sorted(shares.items()) if s),
        charged=sum(c.charged for c in collected),
        invoice_ids=tuple(inv.id for inv in invoices),
        payment_ids=tuple(c.payment_id for c in collected if c.payment_id),
        problem=next((c.problem for c in collected if c.problem), None),
    )
