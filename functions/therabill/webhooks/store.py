"""The Stripe event inbox item (``STRIPEEVT#<event id>``, a platform item): ``received`` →
``enqueued`` → ``processed``, kept 30 days (TTL), longer than Stripe retries a delivery (3 days)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso
from therabill.webhooks.errors import EventAlreadyRecordedError

RETENTION = timedelta(days=30)


class StripeEventStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, event: dict[str, Any], *, at: datetime) -> None:
        """Record a new event as ``received``. Known already → EventAlreadyRecordedError."""
        item = {
            "PK": keys.stripe_event_pk(event["id"]),
            "SK": keys.STRIPE_EVENT_SK,
            "type": "stripe_event",
            "event_id": event["id"],
            "event_type": event["type"],
            "account": event.get("account"),
            "created": int(event.get("created") or 0),
            "status": "received",
            "received_at": iso(at),
            "expires_at_epoch": int((at + RETENTION).timestamp()),
        }
        try:
            self._table.put_new(item)
        except ConditionFailed as exc:
            raise EventAlreadyRecordedError(event["id"], (exc.current or {}).get("status")) from exc

    def mark_enqueued(self, event_id: str) -> None:
        """``received`` → ``enqueued``; an event the worker has processed meanwhile stays so."""
        with contextlib.suppress(ConditionFailed):
            self._table.update(
                keys.stripe_event_pk(event_id),
                keys.STRIPE_EVENT_SK,
                update="SET #s = :enq",
                condition="#s = :rec",
                names={"#s": "status"},
                values={":enq": "enqueued", ":rec": "received"},
            )

    def is_processed(self, event_id: str) -> bool:
        item = self._table.get(keys.stripe_event_pk(event_id), keys.STRIPE_EVENT_SK)
        return bool(item and item.get("status") == "processed")

    def mark_processed(self, event_id: str, result: str, *, at: datetime) -> None:
        self._table.update(
            keys.stripe_event_pk(event_id),
            keys.STRIPE_EVENT_SK,
            update=(
                "SET #s = :p, processed_at = :at, #r = :r, "
                "expires_at_epoch = if_not_exists(expires_at_epoch, :ttl)"
            ),
            names={"#s": "status", "#r": "result"},
            values={
                ":p": "processed",
                ":at": iso(at),
                ":r": result,
                ":ttl": int((at + RETENTION).timestamp()),
            },
        )
