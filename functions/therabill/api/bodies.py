"""The APIs' resolver: a request body is checked before routing or parsing. Over ``MAX_BODY_BYTES``
it is a 413; not UTF-8 text (or not base64 when it says it is), a 400; sent as anything but JSON
(every route that takes a body takes JSON), a 415. Nothing is read or written.

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


def _media_type(event: Mapping[str, Any]) -> str:
    headers = event.get("headers") or {}
    value = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.partition(";")[0].strip().lower()


def _not_json(media_type: str) -> dict[str, Any]:
    body = ErrorBody(
        code="unsupported_media_type",
        message="the body must be JSON: send it with Content-Type: application/json",
        details={"content_type": media_type},
    )
    return {
        "statusCode": 415,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": body.model_dump_json(),
        "isBase64Encoded": False,
    }


class BoundedResolver(APIGatewayRestResolver):
    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            text = body_text(event, limit=MAX_BODY_BYTES)
        except TherabillError as exc:
            return refusal(exc)
        media_type = _media_type(event)
        if text and media_type and media_type != "application/json":
            return _not_json(media_type)
        return self._routed(event, context)

    def _routed(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Route the request (its body checked); a subclass may check more first."""
        return super().resolve(event, context)
