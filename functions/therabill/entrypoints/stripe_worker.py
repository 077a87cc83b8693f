"""Lambda entry point: SQS consumer of recorded Stripe events (partial batch failures)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.observability import logger, metrics, tracer
from therabill.webhooks.worker import process_batch
from therabill.wiring import container


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    c = container()
    return process_batch(event, inbox=c.inbox, dispatcher=c.dispatcher, unit_of_work=c.table.unit_of_work)
