"""The Stripe webhook hop: verify on the raw body, record once, enqueue, answer 2xx at once."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from therabill.core.clock import Clock
from therabill.core.errors import DependencyUnavailableError, InvalidRequestError
from therabill.observability import logger
from therabill.webhooks import signature
from therabill.webhooks.inbox import Inbox, parse_event


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise InvalidRequestError("the body is not valid base64") from exc
    return body.encode("utf-8")


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def receive(
    event: dict[str, Any], *, inbox: Inbox, webhook_secrets: Callable[[], Sequence[str]], clock: Clock
) -> dict[str, Any]:
    """``webhook_secrets``: read only once the body is there (a secret store that cannot answer is
    a 503, so Stripe delivers again)."""
    if event.get("httpMethod") != "POST":
        return _response(405, {"code": "method_not_allowed", "message": "POST only"})
    try:
        payload = _raw_body(event)
        signature.verify(payload, _header(event, "stripe-signature"), webhook_secrets(), clock())
        stripe_event = parse_event(payload)
        outcome = inbox.receive(stripe_event, payload.decode("utf-8"))
    except signature.SignatureError as exc:
        logger.warning("webhook signature rejected", reason=exc.message)
        return _response(400, {"code": "bad_signature", "message": exc.message})
    except InvalidRequestError as exc:
        return _response(400, {"code": "invalid_request", "message": exc.message})
    except DependencyUnavailableError:
        # The secret store, table or queue is unavailable: Stripe retries a non-2xx delivery.
        return _response(503, {"code": "unavailable", "message": "try again"})
    logger.info(
        "webhook received", event_id=stripe_event["id"], event_type=stripe_event["type"], outcome=outcome
    )
    return _response(200, {"received": True, "outcome": outcome})
