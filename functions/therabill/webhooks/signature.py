"""Stripe webhook signatures, checked on the raw body (no Stripe SDK needed at this hop).

Stripe signs ``"<t>.<raw body>"`` with HMAC-SHA256 under the endpoint's secret and sends
``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]``. Several secrets are accepted so the
secret can be rolled without dropping events. The timestamp must be within the tolerance in
both directions, so an old capture cannot be replayed and a far-future one is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from therabill.core.errors import UnauthorizedError

TOLERANCE_SECONDS = 300


class SignatureError(UnauthorizedError):
    pass


def sign(secret: str, payload: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    now: datetime,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """Return the signed timestamp, or raise SignatureError saying what is wrong."""
    if not secrets or not all(secrets):
        raise SignatureError("webhook secret is not configured")
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    if len(header) > 4096:
        raise SignatureError("malformed Stripe-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            if not (value.isdigit() and len(value) <= 12):
                raise SignatureError("malformed Stripe-Signature timestamp")
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed Stripe-Signature header")
    age = now.timestamp() - timestamp
    if age > tolerance:
        raise SignatureError("signature timestamp is too old")
    if age < -tolerance:
        raise SignatureError("signature timestamp is in the future")
    signed = f"{timestamp}.".encode() + payload
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return timestamp
    raise SignatureError("signature does not match")
