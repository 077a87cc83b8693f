"""A cold-start floor: the baseline plus the stack's validation library.

The baseline handler (bench.baseline_handler) and, on the first call, the item it reads validated
into one pydantic model, as any handler of the chosen stack (boto3, Powertools, pydantic) does.
Nothing of Therabill: what it costs over the baseline is what pydantic costs any such function,
so no entry module that validates with pydantic can start faster than this.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel

logger = Logger(service="bench-floor")
tracer = Tracer(service="bench-floor")
metrics = Metrics(namespace="BenchFloor", service="bench-floor")
dynamodb = boto3.client("dynamodb")


class Found(BaseModel):
    pk: str
    sk: str


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    table = os.environ.get("THERABILL_TABLE_NAME", "baseline")
    found = dynamodb.get_item(TableName=table, Key={"PK": {"S": "BASELINE"}, "SK": {"S": "BASELINE"}})
    item = found.get("Item") or {"PK": {"S": ""}, "SK": {"S": ""}}
    Found.model_validate({"pk": item["PK"]["S"], "sk": item["SK"]["S"]})
    return {"statusCode": 200 if "Item" in found else 404, "body": ""}
