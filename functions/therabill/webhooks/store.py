"""The Stripe event inbox item (``STRIPEEVT#<event id>``, a platform item): ``received`` →
``enqueued`` → ``processed`` (or ``failed``: it could not be applied on its last receive and SQS
parks it in the DLQ), kept 30 days (TTL), longer than Stripe retries a delivery (3 days). Each
failure to apply it is counted on the item with its error kind (a class name: never a message)."""

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

    def mark_failed(self, event_id: str, *, error: str, receives: int, final: bool, at: datetime) -> None:
        """One failure to apply the event: its error kind and receive count; ``final`` (its last
        receive: SQS parks it in the DLQ) makes it ``failed``. A processed event stays processed;
        one never recorded (not from the receiver) has no item to mark."""
        sets = (
            "failures = if_not_exists(failures, :zero) + :one, "
            "last_error = :e, receives = :n, failed_at = :at"
        )
        values: dict[str, Any] = {
            ":zero": 0,
            ":one": 1,
            ":e": error,
            ":n": receives,
            ":at": iso(at),
            ":p": "processed",
        }
        if final:
            sets += ", #s = :f"
            values[":f"] = "failed"
        with contextlib.suppress(ConditionFailed):
            self._table.update(
                keys.stripe_event_pk(event_id),
                keys.STRIPE_EVENT_SK,
                update="SET " + sets,
                condition="attribute_exists(PK) AND #s <> :p",
                names={"#s": "status"},
                values=values,
            )
