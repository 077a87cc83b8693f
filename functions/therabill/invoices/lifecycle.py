"""An invoice's life after its draft: send (with the PDF), resend, void, mark uncollectible, ask
for a new card, unlock the pay page (a new access code).

Every change is one versioned write (``InvoiceStore.save``); a status change is checked by the
pure table in ``models.next_status`` first. Effects are keyed by our ids: the ledger charge of a
standalone line and its reversal on void (``StandaloneCharges``), and each email (outbox
``invoice:<inv>:<send n>``, ``invoice-card:<inv>:<n>``), so a retry after a crash repeats none of
them."""

from __future__ import annotations

from datetime import timedelta

from therabill.cards.models import ConsentScope
from therabill.cards.service import CardService
from therabill.core.clock import Clock
from therabill.core.errors import ConflictError
from therabill.invoices.delivery import InvoiceDelivery
from therabill.invoices.models import RESENDABLE, Invoice, new_access_code, next_status
from therabill.invoices.standalone import StandaloneCharges
from therabill.invoices.store import InvoiceStore
from therabill.observability import logger

CARD_LINK_VALID_FOR = timedelta(days=7)


class InvoiceLifecycle:
    def __init__(
        self,
        *,
        store: InvoiceStore,
        clock: Clock,
        delivery: InvoiceDelivery,
        cards: CardService,
        standalone: StandaloneCharges,
    ) -> None:
        self._store = store
        self._clock = clock
        self._delivery = delivery
        self._cards = cards
        self._standalone = standalone

    # -- sending --------------------------------------------------------------------------------
    def send(self, practice_id: str, invoice_id: str) -> Invoice:
        """Draft → Sending (standalone charges posted) → email with the PDF → Open. A retry of a
        send that stopped half way resumes at Sending; the email goes once."""
        inv = self._store.get(practice_id, invoice_id)
        practice, party = self._delivery.addressee(practice_id, inv)
        if inv.status == "draft":
            inv = self.mark_sending(practice_id, inv)
        if inv.status != "sending":
            raise ConflictError(
                f"an invoice that is {inv.status} cannot be sent; resend it instead",
                current_status=inv.status,
            )
        self._standalone.post(practice_id, inv)
        inv = self._store.get(practice_id, inv.id)  # credit may have paid some (or all) of it
        if inv.status == "paid":
            return inv
        self._delivery.send_invoice(practice, party, inv, send_number=1)
        now = self._clock()
        return self._store.save(
            practice_id,
            inv,
            inv.model_copy(update={"status": next_status("sending", "sent"), "sent_at": now, "sends": 1}),
        )

    def mark_sending(self, practice_id: str, inv: Invoice) -> Invoice:
        """Draft → Sending: its charges are being collected or its email is going out (a payment
        may be applied from now on). Another status: a 409 naming it."""
        return self._store.save(
            practice_id, inv, inv.model_copy(update={"status": next_status(inv.status, "send")})
        )

    def resend(self, practice_id: str, invoice_id: str) -> Invoice:
        inv = self._store.get(practice_id, invoice_id)
        if inv.status not in RESENDABLE:
            raise ConflictError(
                f"an invoice that is {inv.status} cannot be resent", current_status=inv.status
            )
        practice, party = self._delivery.addressee(practice_id, inv)
        updated = self._store.save(practice_id, inv, inv.model_copy(update={"sends": inv.sends + 1}))
        self._delivery.send_invoice(practice, party, updated, send_number=updated.sends)
        return updated

    def pdf(self, practice_id: str, invoice_id: str) -> tuple[Invoice, bytes]:
        inv = self._store.get(practice_id, invoice_id)
        return inv, self._delivery.pdf(practice_id, inv)

    # -- void, uncollectible --------------------------------------------------------------------
    def void(self, practice_id: str, invoice_id: str, reason: str) -> Invoice:
        """Void frees the charges it billed (each may go on a new invoice) and reverses the
        standalone charges it posted. Voiding a void invoice again finishes a half-done void."""
        inv = self._store.get(practice_id, invoice_id)
        if inv.status != "void":
            inv = self._mark_void(practice_id, inv, reason)
        for line in inv.lines:
            if line.category == "charge":
                self._store.free_charge(practice_id, line.source_key, inv.id)
        if inv.voided_from not in (None, "draft"):
            # Past Draft every standalone charge is posted (posting is idempotent: a send that
            # stopped half way is completed first), then each is reversed once.
            self._standalone.post(practice_id, inv)
            self._standalone.reverse(practice_id, inv)
        return inv

    def _mark_void(self, practice_id: str, inv: Invoice, reason: str) -> Invoice:
        if inv.paid.amount > 0:
            raise ConflictError(
                "an invoice with payments cannot be voided; refund them or mark it uncollectible",
                current_status=inv.status,
            )
        changes = {
            "status": next_status(inv.status, "void"),
            "voided_at": self._clock(),
            "void_reason": reason,
            "voided_from": inv.status,
            "next_reminder_at": None,
        }
        return self._store.save(practice_id, inv, inv.model_copy(update=changes))

    def mark_uncollectible(self, practice_id: str, invoice_id: str) -> Invoice:
        inv = self._store.get(practice_id, invoice_id)
        if inv.status == "uncollectible":
            return inv
        to = next_status(inv.status, "uncollectible")
        return self._store.save(
            practice_id, inv, inv.model_copy(update={"status": to, "uncollectible_at": self._clock()})
        )

    # -- a new card, a new access code ----------------------------------------------------------
    def request_payment_method(self, practice_id: str, invoice_id: str, by: str) -> Invoice:
        """Email the billing party a link to save a new card (consent scope: balances and session
        charges)."""
        inv = self._store.get(practice_id, invoice_id)
        if inv.status not in RESENDABLE and inv.status != "uncollectible":
            raise ConflictError(
                f"an invoice that is {inv.status} needs no payment method", current_status=inv.status
            )
        practice, party = self._delivery.addressee(practice_id, inv)
        scope = ConsentScope(kinds=["balance", "copay", "session_fee", "cancellation_fee"])
        contact = None if party.owner_id == party.client_id else party.owner_id
        # The link first: a practice that cannot take cards yet is refused before the invoice
        # counts a request (a link left unsent by a lost race below is never delivered).
        _, token = self._cards.create_setup_link(
            practice_id, inv.client_id, contact, scope, by, CARD_LINK_VALID_FOR
        )
        updated = self._store.save(
            practice_id, inv, inv.model_copy(update={"pm_requests": inv.pm_requests + 1})
        )
        self._delivery.send_card_request(practice, party, updated, setup_token=token)
        return updated

    def unlock(self, practice_id: str, invoice_id: str) -> Invoice:
        """A new access code, and the wrong-code counter back to zero (the old code stops working;
        resend the invoice or read the code to the billing party)."""
        inv = self._store.get(practice_id, invoice_id)
        unlocked = self._store.unlock(practice_id, inv, new_access_code())
        logger.info("invoice unlocked with a new access code", invoice_id=inv.id)
        return unlocked
