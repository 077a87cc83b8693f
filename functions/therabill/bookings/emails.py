"""Booking emails: the pay link that confirms an appointment, its confirmation, a late payment held as
credit."""

from __future__ import annotations

from datetime import datetime
from html import escape

from therabill.core.clock import zone
from therabill.core.money import Money
from therabill.notifications.html import html_page
from therabill.notifications.mailer import Email
from therabill.practices.models import Practice


def local_time(practice: Practice, at: datetime) -> str:
    """An instant as the practice's clients read it, in the practice's zone."""
    return at.astimezone(zone(practice.time_zone)).strftime("%A %d %B %Y at %H:%M (%Z)")


def booking_payment_link(
    *,
    practice: Practice,
    party_name: str,
    to: str,
    amount: Money,
    what: str,
    when: str,
    expires: str,
    link: str,
) -> Email:
    """To the billing party: pay the deposit / prepayment that confirms a booking (``what``: "a deposit"
    or "the session fee"; ``when``/``expires``: local times, already formatted)."""
    lines = [
        f"Dear {party_name},",
        f"{practice.name} is holding an appointment for you on {when}.",
        f"To confirm it, please pay {what} of {amount.format()} by {expires}. After that time the "
        "appointment is released.",
        "Nothing is charged until you pay on the page below.",
    ]
    return Email(
        to=to,
        subject=f"Confirm your appointment with {practice.name}",
        text="\n\n".join([*lines, link]),
        html=html_page("Confirm your appointment", [escape(x) for x in lines], ("Pay and confirm", link)),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def booking_confirmed(*, practice: Practice, party_name: str, to: str, amount: Money, when: str) -> Email:
    lines = [
        f"Dear {party_name},",
        f"Thank you: we received {amount.format()} and your appointment on {when} is confirmed.",
        "The amount is kept as a credit on your account and is used for the session's charge.",
        f"Questions? Reply to this email or write to {practice.email}.",
    ]
    return Email(
        to=to,
        subject=f"Your appointment with {practice.name} is confirmed",
        text="\n\n".join(lines),
        html=html_page("Your appointment is confirmed", [escape(x) for x in lines]),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def booking_paid_after_release(
    *, practice: Practice, amount: Money, session_id: str, client_id: str
) -> Email:
    """To the practice: a booking payment arrived after its hold was released or the booking was
    cancelled. The money is kept as the client's credit."""
    lines = [
        f"A booking payment of {amount.format()} arrived after the appointment was released or cancelled.",
        "The money is kept as a credit on the client's account (nothing is lost). Please contact the "
        "client to rebook or refund it.",
        f"Session: {session_id}",
        f"Client: {client_id}",
    ]
    return Email(
        to=practice.email,
        subject=f"A late booking payment of {amount.format()} is held as credit",
        text="\n\n".join(lines),
        html=html_page("A late booking payment is held as credit", [escape(x) for x in lines]),
        sender_name="Therabill",
    )
