"""How an invoice speaks to the billing party, the same on the PDF and in the emails: dates in words
in the practice's time zone ("Tue 3 Nov 2026"), each line with what it is for and when, and how to
reach the practice. English names on purpose: a server's locale never changes them."""

from __future__ import annotations

from therabill.core.clock import day_text
from therabill.invoices.models import AppliedPayment, InvoiceLine

__all__ = ["contact_sentence", "day_text", "line_text", "payment_text"]


def line_text(line: InvoiceLine) -> str:
    """``Speech therapy session, Tue 3 Nov 2026``: what the line is for, and when."""
    if line.service_date is None:
        return line.description
    return f"{line.description}, {day_text(line.service_date)}"


_PAID_BY = {
    "card": "Paid by card",
    "credit": "Paid from your credit",
    "cash": "Paid in cash",
    "check": "Paid by check",
    "refund": "Refunded to you",
}


def payment_text(payment: AppliedPayment) -> str:
    """What a payment row of an invoice says: how it was paid, or that money went back."""
    return _PAID_BY.get(payment.method, "Payment received")


def contact_sentence(email: str, phone: str | None) -> str:
    """What to do with a question: write to the practice, or call it when it has a phone."""
    return f"Questions? Write to {email} or call {phone}." if phone else f"Questions? Write to {email}."
