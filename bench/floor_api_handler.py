"""A cold-start floor for the API functions: the baseline plus Powertools' validating resolver.

The baseline handler (bench.baseline_handler: its Powertools objects and its one read) behind
``APIGatewayRestResolver(enable_validation=True)`` with one route (``GET /practice``) whose answer
is a pydantic model, as the chosen stack builds an API function. Nothing of Therabill: what it
costs over the baseline is what the resolver, its OpenAPI validation and pydantic cost any such
function.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pydantic import BaseModel

from bench.baseline_handler import logger, metrics, read_item, tracer

app = APIGatewayRestResolver(enable_validation=True)


class Found(BaseModel):
    pk: str
    sk: str


@app.get("/practice")
def get_practice() -> Found:
    item = read_item()
    if item is None:
        raise NotFoundError("no such item")
    return Found(pk=item["PK"]["S"], sk=item["SK"]["S"])


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
