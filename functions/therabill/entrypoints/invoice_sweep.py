"""Lambda entry point (EventBridge Scheduler): open invoices past their due date become overdue,
and overdue invoices get their reminders (each at most once)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.observability import logger, metrics, tracer
from therabill.wiring import container


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    counts = container().invoices.sweep()
    logger.info("invoice sweep", extra=counts)
    return counts
