"""What reaches the billing party of an invoice: the invoice email with its PDF, reminders, the
request for a new card, the PDF itself, and the links they carry (the pay page, the card setup
page). Each email goes through the outbox under a key of ours, so a retry sends none twice."""

from __future__ import annotations

from therabill.clients.models import BillingParty
from therabill.clients.service import ClientService
from therabill.core.errors import ConflictError, DependencyUnavailableError, TherabillError
from therabill.invoices import emails
from therabill.invoices.models import Invoice
from therabill.invoices.pdf import render
from therabill.notifications.mailer import Outbox
from therabill.observability import logger
from therabill.practices.models import Practice
from therabill.practices.service import PracticeService


class InvoiceDelivery:
    def __init__(
        self, *, practices: PracticeService, clients: ClientService, outbox: Outbox, public_base_url: str
    ) -> None:
        self._practices = practices
        self._clients = clients
        self._outbox = outbox
        self._public_base_url = public_base_url.rstrip("/")

    def pay_url(self, practice_id: str) -> str:
        return f"{self._public_base_url}/pay/invoice/{practice_id}"

    def billing_party(self, practice_id: str, inv: Invoice) -> BillingParty:
        """Who pays the invoice (the client or one of their billing contacts)."""
        return self._clients.billing_party(practice_id, inv.client_id, inv.owner_id)

    def addressee(self, practice_id: str, inv: Invoice) -> tuple[Practice, BillingParty]:
        """The practice and the billing party, who must have an email address (else a 409)."""
        practice = self._practices.get(practice_id)
        party = self.billing_party(practice_id, inv)
        if not party.email:
            raise ConflictError("the payer has no email address; add one first")
        return practice, party

    def pdf(self, practice_id: str, inv: Invoice) -> bytes:
        practice = self._practices.get(practice_id)
        party = self.billing_party(practice_id, inv)
        return render(practice, party.name, inv, self.pay_url(practice_id))

    def send_invoice(
        self, practice: Practice, party: BillingParty, inv: Invoice, *, send_number: int
    ) -> None:
        """The invoice email (once per send number). A provider failure leaves the invoice as it
        is: DependencyUnavailableError, retry the call."""
        assert party.email
        email = emails.invoice_email(
            practice=practice,
            party_name=party.name,
            to=party.email,
            invoice=inv,
            pay_url=self.pay_url(practice.id),
        )
        try:
            self._outbox.send_once(practice.id, f"invoice:{inv.id}:{send_number}", email)
        except TherabillError:
            raise
        except Exception as exc:  # the provider failed: the invoice stays as it is, retry the call
            logger.warning("invoice email not sent", invoice_id=inv.id, error=type(exc).__name__)
            raise DependencyUnavailableError("the invoice email could not be sent; try again") from exc

    def send_reminder(self, practice: Practice, inv: Invoice, *, number: int) -> None:
        """Reminder ``number`` (once), if the billing party has an email and something is owed."""
        party = self.billing_party(practice.id, inv)
        if not party.email or inv.balance.amount <= 0:
            return
        email = emails.reminder_email(
            practice=practice,
            party_name=party.name,
            to=party.email,
            invoice=inv,
            pay_url=self.pay_url(practice.id),
            number=number,
        )
        self._outbox.send_once(practice.id, f"invoice-reminder:{inv.id}:{number}", email)

    def send_card_request(
        self, practice: Practice, party: BillingParty, inv: Invoice, *, setup_token: str
    ) -> None:
        """The request for a new card (once per request number), with its setup link."""
        assert party.email
        email = emails.new_card_request(
            practice=practice,
            party_name=party.name,
            to=party.email,
            invoice=inv,
            link=f"{self._public_base_url}/setup/{setup_token}",
        )
        self._outbox.send_once(practice.id, f"invoice-card:{inv.id}:{inv.pm_requests}", email)
