"""Email contents. Receipts say what was paid and how; they carry no clinical detail."""

from __future__ import annotations

from html import escape

from therabill.core.money import Money
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
}


def _html(title: str, paragraphs: list[str], link: tuple[str, str] | None = None) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    if link:
        body += f'<p><a href="{escape(link[1])}">{escape(link[0])}</a></p>'
    return (
        f'<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{escape(title)}</h2>{body}</body></html>"
    )


def receipt(
    *,
    practice: Practice,
    payer_name: str,
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
        f"Dear {payer_name},",
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
        html=_html(f"Receipt: {amount}", [escape(x) for x in lines]),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def copay_not_collected(
    *, practice: Practice, client_name: str, amount: Money, session_id: str, problem: str
) -> Email:
    """To the practice: a check-in copay could not be charged and stays open on the client's account."""
    lines = [
        f"The copay of {amount.format()} for {client_name} could not be charged at check-in.",
        f"Why: {problem}.",
        "It stays open on the client's account for invoicing.",
        f"Session: {session_id}",
    ]
    return Email(
        to=practice.email,
        subject=f"A copay of {amount.format()} could not be collected",
        text="\n\n".join(lines),
        html=_html("A copay could not be collected", [escape(x) for x in lines]),
        sender_name="Therabill",
    )


def fee_notice(
    *,
    practice: Practice,
    client_name: str,
    to: str,
    fee: Money,
    explanation: str,
    outcome: str,
    share: Money | None = None,
) -> Email:
    """To a payer: the cancellation / no-show fee (or its waiver) and the policy that caused it;
    with split billing, ``share`` is this payer's part (each payer is told only their own).
    Dates, amounts and the rule only: never the service, a code or any clinical detail."""
    owed = share if share is not None else fee
    subject = (
        f"Cancellation policy fee from {practice.name}: {owed.format()}"
        if owed.amount > 0
        else f"About your cancelled appointment with {practice.name}"
    )
    lines = [f"Dear {client_name},", explanation]
    if share is not None:
        lines.append(f"Your share of this fee is {share.format()}.")
    if outcome:
        lines.append(outcome)
    lines.append(f"Questions? Reply to this email or write to {practice.email}.")
    return Email(
        to=to,
        subject=subject,
        text="\n\n".join(lines),
        html=_html(subject, [escape(x) for x in lines]),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def authentication_needed(
    *, practice: Practice, payer_name: str, to: str, payment: Payment, link: str
) -> Email:
    amount = payment.amount.format()
    lines = [
        f"Dear {payer_name},",
        f"Your bank asked to confirm a payment of {amount} to {practice.name}.",
        "Please open the link below to confirm it. Nothing is charged until you do.",
    ]
    return Email(
        to=to,
        subject=f"Please confirm your payment of {amount} to {practice.name}",
        text="\n\n".join([*lines, link]),
        html=_html("Please confirm your payment", [escape(x) for x in lines], ("Confirm the payment", link)),
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
        "We will not try this card again for this payment. The amount stays open on the client's "
        "account: please follow up with the client.",
        f"Payment: {payment.id}",
        f"Client: {payment.client_id}",
    ]
    return Email(
        to=practice.email,
        subject=f"A payment of {amount} could not be collected",
        text="\n\n".join(lines),
        html=_html("A payment could not be collected", [escape(x) for x in lines]),
        sender_name="Therabill",
    )


# -- paying at booking -------------------------------------------------------------------------------
def booking_payment_link(
    *,
    practice: Practice,
    payer_name: str,
    to: str,
    amount: Money,
    what: str,
    when: str,
    expires: str,
    link: str,
) -> Email:
    """To the payer: pay the deposit / prepayment that confirms a booking (``what``: "a deposit"
    or "the session fee"; ``when``/``expires``: local times, already formatted)."""
    lines = [
        f"Dear {payer_name},",
        f"{practice.name} is holding an appointment for you on {when}.",
        f"To confirm it, please pay {what} of {amount.format()} by {expires}. After that time the "
        "appointment is released.",
        "Nothing is charged until you pay on the page below.",
    ]
    return Email(
        to=to,
        subject=f"Confirm your appointment with {practice.name}",
        text="\n\n".join([*lines, link]),
        html=_html("Confirm your appointment", [escape(x) for x in lines], ("Pay and confirm", link)),
        reply_to=practice.email,
        sender_name=practice.name,
    )


def booking_confirmed(*, practice: Practice, payer_name: str, to: str, amount: Money, when: str) -> Email:
    lines = [
        f"Dear {payer_name},",
        f"Thank you: we received {amount.format()} and your appointment on {when} is confirmed.",
        "The amount is kept as a credit on your account and is used for the session's charge.",
        f"Questions? Reply to this email or write to {practice.email}.",
    ]
    return Email(
        to=to,
        subject=f"Your appointment with {practice.name} is confirmed",
        text="\n\n".join(lines),
        html=_html("Your appointment is confirmed", [escape(x) for x in lines]),
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
        html=_html("A late booking payment is held as credit", [escape(x) for x in lines]),
        sender_name="Therabill",
    )
