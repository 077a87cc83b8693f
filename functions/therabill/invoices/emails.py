"""Invoice emails: the invoice (PDF attached), overdue reminders and a request for a new card.
Each names the practice, says what happened and what to do next, and ends with how to reach the
practice (its address, phone and email as far as it has them). Dates are in words in the
practice's time zone; lines name the service and the date. Never any clinical detail.

The plain text is the paragraphs of the HTML, one blank line between them: a paragraph is a whole
sentence (or a list, or the practice's contact block), never half of one."""

from __future__ import annotations

from html import escape

from therabill.invoices.models import Invoice
from therabill.invoices.pdf import render
from therabill.invoices.wording import contact_sentence, day_text, line_text
from therabill.notifications.html import html_page
from therabill.notifications.mailer import Attachment, Email
from therabill.practices.models import Practice

# A paragraph: its lines (one line for prose; a list or the contact block has several).
Paragraph = list[str]


def _text(paragraphs: list[Paragraph]) -> str:
    return "\n\n".join("\n".join(p) for p in paragraphs)


def _html(title: str, paragraphs: list[Paragraph], link: tuple[str, str], after: list[Paragraph]) -> str:
    """The paragraphs, the link, then ``after`` (the practice's contact)."""

    def escaped(ps: list[Paragraph]) -> list[str]:
        return ["<br>".join(escape(line) for line in p) for p in ps]

    return html_page(title, escaped(paragraphs), link, after=escaped(after))


def _how_to_pay(invoice: Invoice, pay_url: str) -> list[Paragraph]:
    return [
        [
            f"Pay online at {pay_url} with invoice number {invoice.number} and access code"
            f" {invoice.access_code}."
        ],
        ["You can pay all of it or part of it, with a saved card or a new one."],
    ]


def _closing(practice: Practice) -> list[Paragraph]:
    """What to do with a question, then who the practice is and how to reach it."""
    return [[contact_sentence(practice.email, practice.phone)], practice.contact_lines()]


def _lines(invoice: Invoice) -> Paragraph:
    return [
        "What it is for:",
        *(f"- {line_text(x)}: {x.amount.format()}" for x in invoice.lines),
    ]


def invoice_email(*, practice: Practice, party_name: str, to: str, invoice: Invoice, pay_url: str) -> Email:
    balance = invoice.balance.format()
    paragraphs: list[Paragraph] = [
        [f"Dear {party_name},"],
        [
            f"{practice.name} sent you invoice {invoice.number} for {invoice.total.format()},"
            f" dated {day_text(invoice.issue_date)}."
        ],
        _lines(invoice),
        [f"Balance due: {balance}, by {day_text(invoice.due_date)}."],
        *_how_to_pay(invoice, pay_url),
        ["The invoice is attached as a PDF."],
    ]
    return Email(
        to=to,
        subject=f"Invoice {invoice.number} from {practice.name}: {balance} due",
        text=_text([*paragraphs, *_closing(practice)]),
        html=_html(f"Invoice {invoice.number}", paragraphs, ("Pay online", pay_url), _closing(practice)),
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
    paragraphs: list[Paragraph] = [
        [f"Dear {party_name},"],
        [
            f"Invoice {invoice.number} from {practice.name} was due on {day_text(invoice.due_date)}"
            f" and {balance} is still open."
        ],
        _lines(invoice),
        *_how_to_pay(invoice, pay_url),
        ["If you have already paid, thank you, and please ignore this reminder."],
    ]
    return Email(
        to=to,
        subject=f"Reminder {number}: invoice {invoice.number} from {practice.name} is overdue",
        text=_text([*paragraphs, *_closing(practice)]),
        html=_html(
            f"Invoice {invoice.number} is overdue", paragraphs, ("Pay online", pay_url), _closing(practice)
        ),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def new_card_request(*, practice: Practice, party_name: str, to: str, invoice: Invoice, link: str) -> Email:
    asked: list[Paragraph] = [
        [f"Dear {party_name},"],
        [
            f"{practice.name} asks you to add a new payment method for invoice {invoice.number}"
            f" ({invoice.balance.format()} open)."
        ],
        ["Use the secure link below to save a card; we never see its number."],
    ]
    return Email(
        to=to,
        subject=f"{practice.name}: please add a payment method",
        text=_text([*asked, [link], *_closing(practice)]),
        html=_html("Please add a payment method", asked, ("Save a card", link), _closing(practice)),
        reply_to=practice.email,
        sender_name=practice.name,
    )
