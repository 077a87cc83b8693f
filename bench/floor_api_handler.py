"""A cold-start floor for the API functions: the baseline plus Powertools' validating resolver.

The baseline handler (bench.baseline_handler) behind ``APIGatewayRestResolver(enable_validation=
True)`` with one route (``GET /practice``) whose answer is a pydantic model, as the chosen stack
builds an API function. Nothing of Therabill: what it costs over the baseline is what the resolver,
its OpenAPI validation and pydantic cost any such function.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pydantic import BaseModel

logger = Logger(service="bench-floor-api")
tracer = Tracer(service="bench-floor-api")
metrics = Metrics(namespace="BenchFloor", service="bench-floor-api")
dynamodb = boto3.client("dynamodb")
app = APIGatewayRestResolver(enable_validation=True)


class Found(BaseModel):
    pk: str
    sk: str


@app.get("/practice")
def get_practice() -> Found:
    table = os.environ.get("THERABILL_TABLE_NAME", "baseline")
    found = dynamodb.get_item(TableName=table, Key={"PK": {"S": "BASELINE"}, "SK": {"S": "BASELINE"}})
    if "Item" not in found:
        raise NotFoundError("no such item")
    return Found(pk=found["Item"]["PK"]["S"], sk=found["Item"]["SK"]["S"])


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
