"""Lambda entry point: SQS consumer of the nightly run's fan-out (plan a practice's run, bill a
batch of items), with partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.nightly.worker import process_batch
from therabill.observability import logger, metrics, tracer
from therabill.wiring import container


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    c = container()
    return process_batch(event, c.nightly, unit_of_work=c.table.unit_of_work)
