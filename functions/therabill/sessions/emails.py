"""Session emails to the practice and the billing party: a copay not collected, a fee notice;
and their sending, which never stops the money."""

from __future__ import annotations

from html import escape

from therabill.core.money import Money
from therabill.notifications.html import html_page
from therabill.notifications.mailer import Email, Outbox
from therabill.observability import logger
from therabill.practices.models import Practice


def send_quietly(outbox: Outbox, practice_id: str, dedup_key: str, email: Email) -> None:
    """Money never depends on an email: a failed send is logged, and a repeat of the request
    sends it (the outbox sends each dedup key at most once)."""
    try:
        outbox.send_once(practice_id, dedup_key, email)
    except Exception as exc:
        logger.warning("email not sent", dedup_key=dedup_key, error=type(exc).__name__)


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
        html=html_page("A copay could not be collected", [escape(x) for x in lines]),
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
    """To a billing party: the cancellation / no-show fee (or its waiver) and the policy that caused it;
    with split billing, ``share`` is this billing party's part (each billing party is told only their own).
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
        html=html_page(subject, [escape(x) for x in lines]),
        reply_to=practice.email,
        sender_name=practice.name,
    )
