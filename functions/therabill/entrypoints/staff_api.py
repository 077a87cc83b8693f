"""Lambda entry point: the staff REST API (behind the Cognito authorizer). Each request is resolved
by the one router its path belongs to (``therabill.api.staff_routing``): the others are never
loaded for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.api.deps import serving
from therabill.api.staff_routing import resolver_for
from therabill.observability import logger, metrics, tracer
from therabill.wiring import container


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = container()
    with serving(services), services.table.unit_of_work():  # one request: GetItems read once
        return resolver_for(event).resolve(event, context)
