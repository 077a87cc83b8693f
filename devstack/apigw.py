"""API Gateway (REST, proxy integration) events and a Lambda context, built the way AWS builds them.

The local HTTP server and the integration tests both use this, so the handlers meet the same event
shape locally, in tests and in Lambda.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from therabill import contract

STAFF_FUNCTION = "staff-api"
PUBLIC_FUNCTION = "public-api"
WEBHOOK_FUNCTION = "stripe-webhook"
# The answer to a method and path no route serves (API Gateway's gateway response, see infra/).
NO_ROUTE_STATUS = contract.NO_ROUTE_STATUS


def no_route_body(method: str, path: str) -> dict[str, object]:
    """The body naming ``method`` and ``path`` (without its query string)."""
    return contract.no_route_body(method, path.partition("?")[0])


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def route_for(method: str, path: str) -> str | None:
    """The contract function the deployed API sends ``method path`` to, or None for no route."""
    if method not in contract.GATEWAY_METHODS:
        return None
    if _matches(path, contract.STAFF_API_PREFIXES):
        return STAFF_FUNCTION
    if _matches(path, contract.PUBLIC_API_PREFIXES):
        return PUBLIC_FUNCTION
    if path == contract.WEBHOOK_PATH and method == "POST":
        return WEBHOOK_FUNCTION
    return None


def resource_for(path: str) -> str:
    """The API Gateway resource a path matches in the deployed API ({proxy+} under each prefix)."""
    for prefix in (*contract.STAFF_API_PREFIXES, *contract.PUBLIC_API_PREFIXES):
        if path == prefix:
            return prefix
        if path.startswith(prefix + "/"):
            return prefix + "/{proxy+}"
    return path


def rest_event(
    method: str,
    path: str,
    *,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    query: str | dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "local",
) -> dict[str, Any]:
    headers = dict(headers or {})
    if isinstance(query, str):
        multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    else:
        multi_query = {k: [v] for k, v in (query or {}).items()}
    is_binary = isinstance(body, bytes)
    encoded_body: str | None
    if body is None:
        encoded_body = None
    elif isinstance(body, bytes):
        try:
            encoded_body = body.decode("utf-8")
            is_binary = False
        except UnicodeDecodeError:
            encoded_body = base64.b64encode(body).decode()
    else:
        encoded_body = body
    resource = resource_for(path)
    path_parameters = None
    if resource.endswith("{proxy+}"):
        path_parameters = {"proxy": path[len(resource) - len("/{proxy+}") + 1 :]}
    now = datetime.now(UTC)
    request_context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "accountId": "123456789012",
        "apiId": "local",
        "protocol": "HTTP/1.1",
        "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": dict(claims)}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": request_context,
        "body": encoded_body,
        "isBase64Encoded": is_binary,
    }


def staff_claims(
    practice_id: str,
    role: str = "owner",
    sub: str = "user-local",
    email: str = "owner@practice.localhost",
    staff_id: str | None = None,
) -> dict[str, str]:
    """The claims the Cognito user-pool authorizer passes for a staff user (``staff_id``: the
    staff member the user is; the staff API refuses a token without one)."""
    claims = {
        contract.CLAIM_SUBJECT: sub,
        contract.CLAIM_PRACTICE_ID: practice_id,
        contract.CLAIM_ROLE: role,
        contract.CLAIM_EMAIL: email,
        "token_use": "id",
    }
    if staff_id is not None:
        claims[contract.CLAIM_STAFF_ID] = staff_id
    return claims


def sqs_event(
    bodies: list[str],
    queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:local",
    message_ids: list[str] | None = None,
    receive_counts: list[int] | None = None,
) -> dict[str, Any]:
    """``receive_counts``: each message's ApproximateReceiveCount (default 1)."""
    ids = message_ids or [str(uuid.uuid4()) for _ in bodies]
    counts = receive_counts or [1] * len(bodies)
    return {
        "Records": [
            {
                "messageId": mid,
                "receiptHandle": f"rh-{mid}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(count),
                    "SentTimestamp": str(int(datetime.now(UTC).timestamp() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for mid, body, count in zip(ids, bodies, counts, strict=True)
        ]
    }


def scheduled_event(schedule_name: str, at: datetime | None = None) -> dict[str, Any]:
    """What EventBridge Scheduler passes to a Lambda target when the target input is not set."""
    when = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"schedule": schedule_name, "scheduled_time": when}


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object the handlers (and Powertools) read."""

    function_name: str = "therabill-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/therabill-local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000
