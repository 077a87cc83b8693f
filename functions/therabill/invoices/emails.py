"""Invoice emails: the invoice (PDF attached), overdue reminders and a request for a new card.
They say what is owed and how to pay; never any clinical detail."""

from __future__ import annotations

from html import escape

from therabill.invoices.models import Invoice
from therabill.invoices.pdf import render
from therabill.notifications.mailer import Attachment, Email
from therabill.practices.models import Practice


def _html(title: str, paragraphs: list[str], link: tuple[str, str] | None = None) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if link:
        body += f'<p><a href="{escape(link[1])}">{escape(link[0])}</a></p>'
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{escape(title)}</h2>{body}</body></html>"
    )


def _how_to_pay(invoice: Invoice, pay_url: str) -> list[str]:
    return [
        f"Pay online at {pay_url} with invoice number {invoice.number} and access code"
        f" {invoice.access_code}.",
        "You can pay all of it or part of it, with a saved card or a new one.",
    ]


def invoice_email(*, practice: Practice, party_name: str, to: str, invoice: Invoice, pay_url: str) -> Email:
    balance = invoice.balance.format()
    lines = [
        f"Dear {party_name},",
        f"{practice.name} sent you invoice {invoice.number} for {invoice.total.format()}.",
        f"Balance due: {balance}, by {invoice.due_date.isoformat()}.",
        *_how_to_pay(invoice, pay_url),
        "The invoice is attached as a PDF.",
        f"Questions? Reply to this email or write to {practice.email}.",
    ]
    return Email(
        to=to,
        subject=f"Invoice {invoice.number} from {practice.name}: {balance} due",
        text="\n\n".join(lines),
        html=_html(f"Invoice {invoice.number}", lines, ("Pay online", pay_url)),
        reply_to=practice.email,
        sender_name=practice.name,
        attachments=[
            Attachment(
                filename=f"{invoice.number}.pdf",
                content_type="application/pdf",
                data=render(practice, party_name, invoice, pay_url),
            )
        ],
    )


def reminder_email(
    *, practice: Practice, party_name: str, to: str, invoice: Invoice, pay_url: str, number: int
) -> Email:
    balance = invoice.balance.format()
    lines = [
        f"Dear {party_name},",
        f"Invoice {invoice.number} from {practice.name} was due on {invoice.due_date.isoformat()}"
        f" and {balance} is still open.",
        *_how_to_pay(invoice, pay_url),
        f"If you have already paid, thank you, and please ignore this reminder. Questions? Write to"
        f" {practice.email}.",
    ]
    return Email(
        to=to,
        subject=f"Reminder {number}: invoice {invoice.number} from {practice.name} is overdue",
        text="\n\n".join(lines),
        html=_html(f"Invoice {invoice.number} is overdue", lines, ("Pay online", pay_url)),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def new_card_request(*, practice: Practice, party_name: str, to: str, invoice: Invoice, link: str) -> Email:
    lines = [
        f"Dear {party_name},",
        f"{practice.name} asks you to add a new payment method for invoice {invoice.number}"
        f" ({invoice.balance.format()} open).",
        "Use the secure link below to save a card; we never see its number.",
        f"Questions? Write to {practice.email}.",
    ]
    return Email(
        to=to,
        subject=f"{practice.name}: please add a payment method",
        text="\n\n".join([*lines, link]),
        html=_html("Please add a payment method", lines, ("Save a card", link)),
        reply_to=practice.email,
        sender_name=practice.name,
    )
