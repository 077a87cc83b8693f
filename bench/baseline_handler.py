"""The baseline for cold import times: the smallest Powertools handler worth deploying.

boto3 plus Logger, Tracer and Metrics created at import, as every Therabill entry module does
through ``therabill.observability``. An entry module's import time divided by this one's says
how much Therabill adds to the floor that any Powertools + boto3 Lambda pays.
"""

from __future__ import annotations

from typing import Any

import boto3  # noqa: F401  (imported for its cost: every Therabill function uses boto3)
from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="bench-baseline")
tracer = Tracer(service="bench-baseline")
metrics = Metrics(namespace="BenchBaseline", service="bench-baseline")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": ""}
