"""The Stripe event inbox: every event recorded once, enqueued, then applied once.

States: ``received`` (recorded, maybe not yet on the queue) → ``enqueued`` → ``processed``, or
``failed`` when the worker could not apply it on its last receive (it is parked in the DLQ; a
redrive that applies it makes it ``processed``). A
redelivery of an event that never reached the queue (a crash between record and send) is
enqueued again; one that did is acknowledged and dropped. Items expire after 30 days (TTL),
longer than Stripe retries a delivery (3 days).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from therabill.core.clock import Clock
from therabill.core.errors import InvalidRequestError
from therabill.webhooks.errors import EventAlreadyRecordedError
from therabill.webhooks.store import StripeEventStore


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
    def __init__(self, *, store: StripeEventStore, queue: EventQueue | None, clock: Clock) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock

    def receive(self, event: dict[str, Any], raw: str) -> str:
        """Record and enqueue. Returns 'new', 'requeued' or 'duplicate'."""
        assert self._queue is not None
        outcome = "new"
        try:
            self._store.record(event, at=self._clock())
        except EventAlreadyRecordedError as known:
            if known.status != "received":
                return "duplicate"
            outcome = "requeued"
        self._queue.send(raw, dedup_id=event["id"])
        self._store.mark_enqueued(event["id"])  # unless the worker was quicker: processed already
        return outcome

    def already_processed(self, event_id: str) -> bool:
        return self._store.is_processed(event_id)

    def mark_processed(self, event_id: str, result: str, at: datetime | None = None) -> None:
        self._store.mark_processed(event_id, result, at=at or self._clock())

    def mark_failed(self, event_id: str, *, error: str, receives: int, final: bool) -> None:
        self._store.mark_failed(event_id, error=error, receives=receives, final=final, at=self._clock())
