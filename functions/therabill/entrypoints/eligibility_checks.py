"""Lambda entry point (EventBridge Scheduler): an eligibility check of a coverage added or changed
(one-time schedules), and the hourly firing that runs each practice's batch for the next day at
its local batch hour."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.eligibility.jobs import handle
from therabill.observability import logger, metrics, tracer
from therabill.wiring import container


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    c = container()
    return handle(
        event,
        checks=c.eligibility,
        batch=c.eligibility_batch,
        practice_ids=c.practice_ids,
        unit_of_work=c.table.unit_of_work,
    )
