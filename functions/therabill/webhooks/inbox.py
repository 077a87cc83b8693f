"""The Stripe event inbox: every event recorded once, enqueued, then applied once.

States: ``received`` (recorded, maybe not yet on the queue) → ``enqueued`` → ``processed``. A
redelivery of an event that never reached the queue (a crash between record and send) is
enqueued again; one that did is acknowledged and dropped. Items expire after 30 days (TTL),
longer than Stripe retries a delivery (3 days).
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from typing import Any, Protocol

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import Clock, iso
from therabill.core.errors import InvalidRequestError

RETENTION = timedelta(days=30)


class EventQueue(Protocol):
    def send(self, body: str, *, dedup_id: str) -> None: ...


def parse_event(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestError("the body is not JSON") from exc
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidRequestError("the body is not a Stripe event")
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise InvalidRequestError("the event has no id or type")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidRequestError("the event has no data.object")
    return event


class Inbox:
    def __init__(self, table: Table, queue: EventQueue | None, clock: Clock) -> None:
        self._table = table
        self._queue = queue
        self._clock = clock

    def receive(self, event: dict[str, Any], raw: str) -> str:
        """Record and enqueue. Returns 'new', 'requeued' or 'duplicate'."""
        assert self._queue is not None
        now = self._clock()
        pk = keys.stripe_event_pk(event["id"])
        item = {
            "PK": pk,
            "SK": keys.STRIPE_EVENT_SK,
            "type": "stripe_event",
            "event_id": event["id"],
            "event_type": event["type"],
            "account": event.get("account"),
            "created": int(event.get("created") or 0),
            "status": "received",
            "received_at": iso(now),
            "expires_at_epoch": int((now + RETENTION).timestamp()),
        }
        outcome = "new"
        try:
            self._table.put_new(item)
        except ConditionFailed as exc:
            if (exc.current or {}).get("status") != "received":
                return "duplicate"
            outcome = "requeued"
        self._queue.send(raw, dedup_id=event["id"])
        with contextlib.suppress(ConditionFailed):  # the worker was quicker: already processed
            self._table.update(
                pk,
                keys.STRIPE_EVENT_SK,
                update="SET #s = :enq",
                condition="#s = :rec",
                names={"#s": "status"},
                values={":enq": "enqueued", ":rec": "received"},
            )
        return outcome

    def already_processed(self, event_id: str) -> bool:
        item = self._table.get(keys.stripe_event_pk(event_id), keys.STRIPE_EVENT_SK)
        return bool(item and item.get("status") == "processed")

    def mark_processed(self, event_id: str, result: str, at: datetime | None = None) -> None:
        now = at or self._clock()
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
                ":at": iso(now),
                ":r": result,
                ":ttl": int((now + RETENTION).timestamp()),
            },
        )
