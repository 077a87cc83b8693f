"""The SQS worker: applies each recorded Stripe event once; a failed record is reported back so
SQS redelivers only it (and, after maxReceiveCount, parks it in the DLQ)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from therabill.core.errors import DependencyUnavailableError, RetryLaterError
from therabill.observability import logger
from therabill.webhooks.inbox import Inbox, parse_event

if TYPE_CHECKING:  # the dispatcher (and the capabilities behind it) is built on the first record
    from therabill.webhooks.dispatch import EventDispatcher

UnitOfWork = Callable[[], AbstractContextManager[object]]


def apply_record(body: str, *, inbox: Inbox, dispatcher: EventDispatcher) -> str:
    event = parse_event(body.encode("utf-8"))
    if inbox.already_processed(event["id"]):
        return "duplicate"
    result = dispatcher.apply(event)
    inbox.mark_processed(event["id"], result)
    logger.info("stripe event applied", event_id=event["id"], event_type=event["type"], result=result)
    return result


def process_batch(
    event: dict[str, Any],
    *,
    inbox: Inbox,
    dispatcher: EventDispatcher,
    unit_of_work: UnitOfWork = nullcontext,
) -> dict[str, Any]:
    """``unit_of_work``: the table's read memo (``Table.unit_of_work``), one per record."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            with unit_of_work():  # one per record, never across records
                apply_record(record["body"], inbox=inbox, dispatcher=dispatcher)
        except (RetryLaterError, DependencyUnavailableError) as exc:
            logger.info("stripe event deferred", message_id=message_id, reason=exc.message)
            failures.append({"itemIdentifier": message_id})
        except Exception:
            logger.exception("stripe event failed", message_id=message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
