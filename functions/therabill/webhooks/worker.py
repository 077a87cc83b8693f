"""The SQS worker: applies each recorded Stripe event once; a failed record is reported back so
SQS redelivers only it, and after maxReceiveCount (``STRIPE_EVENTS_MAX_RECEIVES``) SQS parks it in
the DLQ, where it is kept (14 days) and alarmed, for a redrive once the cause is fixed. Nothing is
acknowledged that was not applied: an event that cannot be applied is never dropped.

A failure that is expected to pass (RetryLaterError: a related item has not arrived;
DependencyUnavailableError) is logged as info. Any other (a validation error, a malformed stored
item) is an error for operators: logged with its kind and where it was raised (never its message,
which may carry a client's details), and counted on the event's inbox item; on the last receive
the item is marked ``failed``."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from therabill.contract import METRIC_WEBHOOKS_APPLIED, METRIC_WEBHOOKS_DUPLICATE, STRIPE_EVENTS_MAX_RECEIVES
from therabill.core.errors import DependencyUnavailableError, RetryLaterError, TherabillError
from therabill.observability import business, logger
from therabill.webhooks.inbox import Inbox, parse_event

if TYPE_CHECKING:  # the dispatcher (and the capabilities behind it) is built on the first record
    from therabill.webhooks.dispatch import EventDispatcher

UnitOfWork = Callable[[], AbstractContextManager[object]]


def apply_record(body: str, *, inbox: Inbox, dispatcher: EventDispatcher) -> str:
    event = parse_event(body.encode("utf-8"))
    if inbox.already_processed(event["id"]):
        business.count(METRIC_WEBHOOKS_DUPLICATE)
        return "duplicate"
    result = dispatcher.apply(event)
    inbox.mark_processed(event["id"], result)
    business.count(METRIC_WEBHOOKS_APPLIED)
    logger.info("stripe event applied", event_id=event["id"], event_type=event["type"], result=result)
    return result


def process_batch(
    event: dict[str, Any],
    *,
    inbox: Inbox,
    dispatcher: EventDispatcher,
    unit_of_work: UnitOfWork = nullcontext,
    max_receives: int = STRIPE_EVENTS_MAX_RECEIVES,
) -> dict[str, Any]:
    """``unit_of_work``: the table's read memo (``Table.unit_of_work``), one per record.
    ``max_receives``: the queue's maxReceiveCount (the receive after which SQS parks a message)."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            with unit_of_work():  # one per record, never across records
                apply_record(record["body"], inbox=inbox, dispatcher=dispatcher)
        except (RetryLaterError, DependencyUnavailableError) as exc:
            logger.info("stripe event deferred", message_id=message_id, reason=exc.message)
            failures.append({"itemIdentifier": message_id})
        except Exception as exc:
            _failed(record, exc, inbox=inbox, max_receives=max_receives)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _failed(record: dict[str, Any], exc: Exception, *, inbox: Inbox, max_receives: int) -> None:
    """An event that could not be applied: an error for operators (its kind and where, no
    message), counted on its inbox item; ``failed`` on its last receive (SQS then parks it)."""
    receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    final = receives >= max_receives
    try:
        parsed = parse_event(record["body"].encode("utf-8"))
        event_id, event_type = parsed["id"], parsed["type"]
    except TherabillError:
        event_id = event_type = None  # not an event at all: nothing to mark
    # Where in our code it was raised (the innermost of our frames): a place, never a value.
    ours = [f for f in traceback.extract_tb(exc.__traceback__) if "/therabill/" in f.filename]
    where = f"{ours[-1].filename.rsplit('/therabill/', 1)[-1]}:{ours[-1].lineno}" if ours else None
    logger.error(
        "stripe event could not be applied",
        message_id=record["messageId"],
        event_id=event_id,
        event_type=event_type,
        error=type(exc).__name__,
        where=where,
        receives=receives,
        parked_in_dlq=final,
    )
    if event_id is None:
        return
    try:
        inbox.mark_failed(event_id, error=type(exc).__name__, receives=receives, final=final)
    except Exception as mark_exc:  # the record still fails: SQS redelivers or parks it
        logger.warning("stripe event failure not recorded", event_id=event_id, error=type(mark_exc).__name__)
