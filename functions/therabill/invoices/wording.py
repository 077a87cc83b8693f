"""How an invoice speaks to the billing party, the same on the PDF and in the emails: dates in words
in the practice's time zone ("Tue 3 Nov 2026"), each line with what it is for and when, and how to
reach the practice. English names on purpose: a server's locale never changes them."""

from __future__ import annotations

from datetime import date

from therabill.invoices.models import AppliedPayment, InvoiceLine

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(day: date) -> str:
    """``Tue 3 Nov 2026``."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


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
