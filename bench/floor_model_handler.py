"""A cold-start floor: the baseline plus the stack's validation library.

The baseline handler (bench.baseline_handler: boto3, Powertools, one DynamoDB read) with the item
it reads validated into one pydantic model, as any handler of the chosen stack (boto3, Powertools,
pydantic) does. Nothing of Therabill: what it costs over the baseline is what pydantic costs any
such function, so no entry module that validates with pydantic can start faster than this.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bench.baseline_handler import logger, metrics, read_item, tracer


class Found(BaseModel):
    pk: str
    sk: str


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    item = read_item() or {"PK": {"S": ""}, "SK": {"S": ""}}
    Found.model_validate({"pk": item["PK"]["S"], "sk": item["SK"]["S"]})
    return {"statusCode": 404 if not item["PK"]["S"] else 200, "body": ""}
