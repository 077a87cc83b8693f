"""The APIs' resolver: a request body is checked before routing or parsing. Over ``MAX_BODY_BYTES``
it is a 413; not UTF-8 text (or not base64 when it says it is), a 400. Nothing is read or written.

The limit: the largest body a route takes is a year of holidays (366 dates with names, about 60 KB
even with every character escaped); 256 KiB is four times that, far below API Gateway's 10 MB and
Lambda's 6 MB, and keeps a body's parsing cheap and its items well under DynamoDB's 400 KB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.api.errors import STATUS, ErrorBody
from therabill.core.errors import TherabillError
from therabill.core.request_body import body_text

MAX_BODY_BYTES = 256 * 1024


def refusal(exc: TherabillError) -> dict[str, Any]:
    status, code = next(((s, c) for kind, s, c in STATUS if isinstance(exc, kind)), (400, "invalid_request"))
    details = {k: v for k, v in exc.details.items() if isinstance(v, str | int)}
    body = ErrorBody(code=code, message=exc.message, details=details)
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": body.model_dump_json(),
        "isBase64Encoded": False,
    }


class BoundedResolver(APIGatewayRestResolver):
    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            body_text(event, limit=MAX_BODY_BYTES)
        except TherabillError as exc:
            return refusal(exc)
        return super().resolve(event, context)
