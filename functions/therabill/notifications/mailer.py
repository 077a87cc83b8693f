"""Email: composed as raw MIME, sent through a transport port, at most once per dedup key.

The outbox item (``EMAIL#<dedup key>``) is claimed with a conditional write before sending and
marked sent after. A retry after a crash between claim and send finds a stale claim and sends;
a retry after the send finds ``sent`` and does nothing. (A crash in the few milliseconds between
SES accepting the message and the ``sent`` mark can still repeat one email: SES has no
idempotency key. Money never depends on an email.)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import RetryLaterError, TherabillError

STALE_CLAIM = timedelta(minutes=5)


class EmailRejectedError(TherabillError):
    """The provider refused this message for good (bad address, content): do not retry."""


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
    def __init__(self, table: Table, transport: EmailTransport, sender: str, clock: Clock) -> None:
        self._table = table
        self._transport = transport
        self._sender = sender
        self._clock = clock

    def send_once(self, practice_id: str, dedup_key: str, email: Email) -> bool:
        """Send ``email`` unless an email with this key was sent already. Returns whether sent."""
        pk, sk = keys.practice_pk(practice_id), keys.email_sk(dedup_key)
        now = self._clock()
        try:
            self._table.put(
                {
                    "PK": pk,
                    "SK": sk,
                    "type": "email",
                    "status": "sending",
                    "claimed_at": iso(now),
                    "subject": email.subject,
                },
                condition="attribute_not_exists(PK)",
            )
        except ConditionFailed as exc:
            current = exc.current or {}
            if current.get("status") == "sent":
                return False
            claimed_at = current.get("claimed_at")
            if claimed_at and parse_iso(claimed_at) > now - STALE_CLAIM:
                raise RetryLaterError("the same email is being sent right now", dedup_key=dedup_key) from exc
            try:  # a stale claim: a crash left it; take it over
                self._table.update(
                    pk,
                    sk,
                    update="SET claimed_at = :now",
                    condition="#s = :sending AND claimed_at = :old",
                    names={"#s": "status"},
                    values={":now": iso(now), ":sending": "sending", ":old": claimed_at},
                )
            except ConditionFailed as lost:
                raise RetryLaterError("the same email is being sent right now") from lost
        claimed = iso(now)
        try:
            message_id = self._transport.send_raw(
                sender=self._sender, recipients=[email.to], raw=to_mime(email, self._sender)
            )
        except EmailRejectedError as exc:  # permanent: recorded, never retried
            self._table.update(
                pk,
                sk,
                update="SET #s = :rejected, reason = :why",
                names={"#s": "status"},
                values={":rejected": "rejected", ":why": exc.message},
            )
            return False
        except Exception:
            # Release our claim so a retry can send at once instead of waiting for it to go stale.
            with contextlib.suppress(ConditionFailed):
                self._table.delete(
                    pk,
                    sk,
                    condition="#s = :sending AND claimed_at = :mine",
                    names={"#s": "status"},
                    values={":sending": "sending", ":mine": claimed},
                )
            raise
        self._table.update(
            pk,
            sk,
            update="SET #s = :sent, message_id = :mid, sent_at = :at",
            names={"#s": "status"},
            values={":sent": "sent", ":mid": message_id, ":at": iso(self._clock())},
        )
        return True
