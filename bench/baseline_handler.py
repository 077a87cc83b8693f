"""The baseline for cold starts: the smallest Powertools handler worth deploying.

boto3 plus Logger, Tracer and Metrics created at import, as every Therabill entry module does
through ``therabill.observability``, and one DynamoDB read on the first call (the client made at
import, as such a function would). An entry module's import plus first call divided by this one's
says how much Therabill adds to the floor that any Powertools + boto3 Lambda pays.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="bench-baseline")
tracer = Tracer(service="bench-baseline")
metrics = Metrics(namespace="BenchBaseline", service="bench-baseline")
dynamodb = boto3.client("dynamodb")


def read_item() -> dict[str, Any] | None:
    """The one DynamoDB read (None: no such item)."""
    table = os.environ.get("THERABILL_TABLE_NAME", "baseline")
    found = dynamodb.get_item(TableName=table, Key={"PK": {"S": "BASELINE"}, "SK": {"S": "BASELINE"}})
    item: dict[str, Any] | None = found.get("Item")
    return item


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200 if read_item() else 404, "body": ""}
