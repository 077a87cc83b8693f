"""The email outbox items (``EMAIL#<dedup key>``): claimed ``sending`` before the message goes
out, then ``sent`` (or ``rejected`` for good); a claim is released if the send fails."""

from __future__ import annotations

import contextlib
from datetime import datetime

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso
from therabill.notifications.errors import EmailBeingSentError, EmailClaimedError

_CLAIMED_BY = "#s = :sending AND claimed_at = :claimed"


class OutboxStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def known(self, practice_id: str, dedup_key: str) -> bool:
        """Whether an email with this key was claimed (being sent, sent or rejected)."""
        return bool(self._table.get(keys.practice_pk(practice_id), keys.email_sk(dedup_key)))

    def claim(self, practice_id: str, dedup_key: str, *, subject: str, at: datetime) -> None:
        """A new claim. An item already there → EmailClaimedError (its status and claim time)."""
        item = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.email_sk(dedup_key),
            "type": "email",
            "status": "sending",
            "claimed_at": iso(at),
            "subject": subject,
        }
        try:
            self._table.put(item, condition="attribute_not_exists(PK)")
        except ConditionFailed as exc:
            current = exc.current or {}
            raise EmailClaimedError(dedup_key, current.get("status"), current.get("claimed_at")) from exc

    def take_over(self, practice_id: str, dedup_key: str, *, stale_claim: str | None, at: datetime) -> None:
        """Take over a stale claim (a crash left it). Someone else took it → EmailBeingSentError."""
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.email_sk(dedup_key),
                update="SET claimed_at = :now",
                condition=_CLAIMED_BY,
                names={"#s": "status"},
                values={":now": iso(at), ":sending": "sending", ":claimed": stale_claim},
            )
        except ConditionFailed as exc:
            raise EmailBeingSentError("the same email is being sent right now") from exc

    def release(self, practice_id: str, dedup_key: str, *, claimed_at: datetime) -> None:
        """Drop our own claim (a retry may send at once); one that is no longer ours stays."""
        with contextlib.suppress(ConditionFailed):
            self._table.delete(
                keys.practice_pk(practice_id),
                keys.email_sk(dedup_key),
                condition=_CLAIMED_BY,
                names={"#s": "status"},
                values={":sending": "sending", ":claimed": iso(claimed_at)},
            )

    def mark_rejected(self, practice_id: str, dedup_key: str, *, reason: str) -> None:
        self._table.update(
            keys.practice_pk(practice_id),
            keys.email_sk(dedup_key),
            update="SET #s = :rejected, reason = :why",
            names={"#s": "status"},
            values={":rejected": "rejected", ":why": reason},
        )

    def mark_sent(self, practice_id: str, dedup_key: str, *, message_id: str, at: datetime) -> None:
        self._table.update(
            keys.practice_pk(practice_id),
            keys.email_sk(dedup_key),
            update="SET #s = :sent, message_id = :mid, sent_at = :at",
            names={"#s": "status"},
            values={":sent": "sent", ":mid": message_id, ":at": iso(at)},
        )
