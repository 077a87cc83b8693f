"""The Stripe webhook hop: verify on the raw body, record once, enqueue, answer 2xx at once."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from therabill.contract import METRIC_WEBHOOKS_DUPLICATE
from therabill.core.clock import Clock
from therabill.core.errors import DependencyUnavailableError, InvalidRequestError, PayloadTooLargeError
from therabill.core.request_body import body_bytes
from therabill.observability import business, logger
from therabill.webhooks import signature
from therabill.webhooks.inbox import Inbox, parse_event

# The raw event travels on as one SQS message (at most 256 KiB, with its event-id attribute), so
# a larger event could never be queued: it is refused with a 413 before its signature is checked
# or anything is written. Stripe's events are a few KB; the largest objects stay far below this.
MAX_EVENT_BYTES = 256 * 1024 - 1024


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


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
        payload = body_bytes(event, limit=MAX_EVENT_BYTES)
        signature.verify(payload, _header(event, "stripe-signature"), webhook_secrets(), clock())
        stripe_event = parse_event(payload)
        outcome = inbox.receive(stripe_event, payload.decode("utf-8"))
    except PayloadTooLargeError as exc:
        logger.warning("webhook body too large", size=len(event.get("body") or ""), limit=MAX_EVENT_BYTES)
        return _response(413, {"code": "payload_too_large", "message": exc.message})
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
    if outcome == "duplicate":  # Stripe delivered an event already on its way again
        business.count(METRIC_WEBHOOKS_DUPLICATE)
    return _response(200, {"received": True, "outcome": outcome})
