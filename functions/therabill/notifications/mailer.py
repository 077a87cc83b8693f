"""Email: composed as raw MIME, sent through a transport port, at most once per dedup key.

The outbox item (``EMAIL#<dedup key>``) is claimed with a conditional write before sending and
marked sent after. A retry after a crash between claim and send finds a stale claim and sends;
a retry after the send finds ``sent`` and does nothing. (A crash in the few milliseconds between
SES accepting the message and the ``sent`` mark can still repeat one email: SES has no
idempotency key. Money never depends on an email.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

from therabill.contract import METRIC_EMAILS_SENT
from therabill.core.clock import Clock, parse_iso
from therabill.notifications.errors import EmailBeingSentError, EmailClaimedError, EmailRejectedError
from therabill.notifications.store import OutboxStore
from therabill.observability import business

STALE_CLAIM = timedelta(minutes=5)

__all__ = ["STALE_CLAIM", "Attachment", "Email", "EmailRejectedError", "EmailTransport", "Outbox", "to_mime"]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    sender_name: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


class EmailTransport(Protocol):
    def send_raw(self, *, sender: str, recipients: list[str], raw: bytes) -> str:
        """Send one raw MIME message; return the provider's message id."""
        ...


def to_mime(email: Email, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = formataddr((email.sender_name, sender)) if email.sender_name else sender
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", maxsplit=1)[-1])
    if email.reply_to:
        msg["Reply-To"] = email.reply_to
    msg.set_content(email.text)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    for a in email.attachments:
        maintype, subtype = a.content_type.split("/", 1)
        msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return msg.as_bytes()


class Outbox:
    def __init__(self, *, store: OutboxStore, transport: EmailTransport, sender: str, clock: Clock) -> None:
        self._store = store
        self._transport = transport
        self._sender = sender
        self._clock = clock

    def already(self, practice_id: str, dedup_key: str) -> bool:
        """Whether the email with this key was sent (or is being sent, or was refused for good)."""
        return self._store.known(practice_id, dedup_key)

    def send_once(self, practice_id: str, dedup_key: str, email: Email) -> bool:
        """Send ``email`` unless an email with this key was sent already. Returns whether sent."""
        now = self._clock()
        try:
            self._store.claim(practice_id, dedup_key, subject=email.subject, at=now)
        except EmailClaimedError as claimed:
            if claimed.status == "sent":
                return False
            if claimed.claimed_at and parse_iso(claimed.claimed_at) > now - STALE_CLAIM:
                raise EmailBeingSentError(
                    "the same email is being sent right now", dedup_key=dedup_key
                ) from claimed
            # a stale claim: a crash left it; take it over
            self._store.take_over(practice_id, dedup_key, stale_claim=claimed.claimed_at, at=now)
        try:
            message_id = self._transport.send_raw(
                sender=self._sender, recipients=[email.to], raw=to_mime(email, self._sender)
            )
        except EmailRejectedError as exc:  # permanent: recorded, never retried
            self._store.mark_rejected(practice_id, dedup_key, reason=exc.message)
            return False
        except Exception:
            # Release our claim so a retry can send at once instead of waiting for it to go stale.
            self._store.release(practice_id, dedup_key, claimed_at=now)
            raise
        business.count(METRIC_EMAILS_SENT)
        self._store.mark_sent(practice_id, dedup_key, message_id=message_id, at=self._clock())
        return True
