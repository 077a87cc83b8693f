"""Lambda entry point: the Stripe webhook endpoint (no Stripe SDK import on this path)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.observability import logger, metrics, tracer
from therabill.webhooks.receiver import receive
from therabill.wiring import container


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    c = container()
    with c.table.unit_of_work():  # one delivery: repeated GetItems are read once
        return receive(
            event,
            inbox=c.inbox,
            webhook_secrets=lambda: c.secrets.stripe_webhook_secrets,
            clock=c.clock,
        )
