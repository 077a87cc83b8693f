"""Payment emails: receipts say what was paid and how; the authentication link; a payment given up.
They carry no clinical detail."""

from __future__ import annotations

from html import escape

from therabill.notifications.html import html_page
from therabill.notifications.mailer import Email
from therabill.payments.models import Payment
from therabill.practices.models import Practice

_KIND_LABEL = {
    "copay": "Copay",
    "session_fee": "Session fee",
    "cancellation_fee": "Cancellation fee",
    "balance": "Balance payment",
    "product": "Purchase",
    "deposit": "Booking deposit",
    "prepayment": "Booking prepayment",
    "invoice": "Invoice payment",
    "order": "Purchase",
}


def receipt(
    *,
    practice: Practice,
    party_name: str,
    to: str,
    payment: Payment,
    card_brand: str | None,
    card_last4: str | None,
) -> Email:
    """``card_brand``/``card_last4`` None: paid on a page with a card we do not store."""
    amount = payment.amount.format()
    when = payment.updated_at.strftime("%Y-%m-%d %H:%M UTC")
    label = _KIND_LABEL.get(payment.kind, "Payment")
    lines = [
        f"Dear {party_name},",
        f"{practice.name} received your payment of {amount}.",
        f"What for: {label}",
        f"Paid with: {card_brand.title()} ending in {card_last4}"
        if card_brand and card_last4
        else "Paid with: card",
        f"Date: {when}",
        f"Receipt number: {payment.id}",
        f"Questions? Reply to this email or write to {practice.email}.",
    ]
    return Email(
        to=to,
        subject=f"Receipt from {practice.name}: {amount}",
        text="\n\n".join(lines),
        html=html_page(f"Receipt: {amount}", [escape(x) for x in lines]),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def authentication_needed(
    *, practice: Practice, party_name: str, to: str, payment: Payment, link: str
) -> Email:
    amount = payment.amount.format()
    lines = [
        f"Dear {party_name},",
        f"Your bank asked to confirm a payment of {amount} to {practice.name}.",
        "Please open the link below to confirm it. Nothing is charged until you do.",
    ]
    return Email(
        to=to,
        subject=f"Please confirm your payment of {amount} to {practice.name}",
        text="\n\n".join([*lines, link]),
        html=html_page(
            "Please confirm your payment", [escape(x) for x in lines], ("Confirm the payment", link)
        ),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def payment_given_up(*, practice: Practice, payment: Payment) -> Email:
    """To the practice: a declined charge was retried as often as the policy allows."""
    amount = payment.amount.format()
    label = _KIND_LABEL.get(payment.kind, "Payment")
    reason = payment.decline_code or payment.error_code or "declined"
    lines = [
        f"A card payment of {amount} ({label}) could not be collected.",
        f"It was tried {payment.attempt} times; the last answer from the card's bank was: {reason}.",
        "We will not try this card again for this payment. The amount is left open on the "
        "client's account and will be invoiced to the client: it is billed on the client's next "
        "invoice (or stays on the invoice it was charged for). You may want to follow up with the "
        "client.",
        f"Payment: {payment.id}",
        f"Client: {payment.client_id}",
    ]
    return Email(
        to=practice.email,
        subject=f"A payment of {amount} could not be collected",
        text="\n\n".join(lines),
        html=html_page("A payment could not be collected", [escape(x) for x in lines]),
        sender_name="Therabill",
    )


# -- paying at booking -------------------------------------------------------------------------------
