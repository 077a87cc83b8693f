"""Lambda entry point (the table's DynamoDB stream, filtered to the audit partitions): each new
audit record is copied to the write-once archive; an audit item changed or removed other than by
TTL (which no function role may do, and no code does) is counted (``AuditItemsChanged``,
alarmed) and logged by its keys. A record that fails is reported by its sequence number, so
Lambda retries from it (and, after its retries, sends the batch's position to the failure
queue); the records before it are done."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.audit.store import stream_change
from therabill.contract import METRIC_AUDIT_ITEMS_CHANGED
from therabill.observability import business, logger, metrics, tracer
from therabill.wiring import container


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    archived = 0
    for raw in event.get("Records") or []:
        sequence = (raw.get("dynamodb") or {}).get("SequenceNumber")
        try:
            change = stream_change(raw)
            if change.kind == "new" and change.record is not None:
                container().audit_archive.archive(change.record)
                archived += 1
            elif change.kind == "changed":
                # Keys are ids only; the archive keeps the record as it was first written.
                logger.error("audit item changed", extra={"event": raw.get("eventName"), "key": change.key})
                business.count(METRIC_AUDIT_ITEMS_CHANGED)
        except Exception:
            logger.exception("audit record not archived", extra={"sequence": sequence})
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    logger.info("audit records archived", extra={"archived": archived})
    return {"batchItemFailures": []}
