"""The SQS worker: applies each recorded Stripe event once; a failed record is reported back so
SQS redelivers only it (and, after maxReceiveCount, parks it in the DLQ)."""

from __future__ import annotations

from typing import Any

from therabill.core.errors import DependencyUnavailableError, RetryLaterError
from therabill.observability import logger
from therabill.webhooks.inbox import parse_event
from therabill.wiring import Container


def apply_record(body: str, c: Container) -> str:
    event = parse_event(body.encode("utf-8"))
    if c.inbox.already_processed(event["id"]):
        return "duplicate"
    result = c.dispatcher.apply(event)
    c.inbox.mark_processed(event["id"], result)
    logger.info("stripe event applied", event_id=event["id"], event_type=event["type"], result=result)
    return result


def process_batch(event: dict[str, Any], c: Container) -> dict[str, Any]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            with c.table.unit_of_work():  # one per record, never across records
                apply_record(record["body"], c)
        except (RetryLaterError, DependencyUnavailableError) as exc:
            logger.info("stripe event deferred", message_id=message_id, reason=exc.message)
            failures.append({"itemIdentifier": message_id})
        except Exception:
            logger.exception("stripe event failed", message_id=message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
