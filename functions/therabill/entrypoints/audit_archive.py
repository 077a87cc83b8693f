"""Lambda entry point (the table's DynamoDB stream, filtered to new audit records): each record is
copied to the write-once archive. A record that fails is reported by its sequence number, so
Lambda retries from it (and, after its retries, sends the batch's position to the failure
queue); the records before it are done."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.audit.store import from_stream_image
from therabill.observability import logger, metrics, tracer
from therabill.wiring import container


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    archive = container().audit_archive
    archived = 0
    for record in event.get("Records") or []:
        change = record.get("dynamodb") or {}
        if record.get("eventName") != "INSERT":
            continue
        try:
            audit = from_stream_image(change.get("NewImage") or {})
            if audit is not None:
                archive.archive(audit)
                archived += 1
        except Exception:
            # Logged with the place only: a record's ids are not health information, but its
            # image is not logged either.
            logger.exception("audit record not archived", extra={"sequence": change.get("SequenceNumber")})
            return {"batchItemFailures": [{"itemIdentifier": change.get("SequenceNumber")}]}
    logger.info("audit records archived", extra={"archived": archived})
    return {"batchItemFailures": []}
