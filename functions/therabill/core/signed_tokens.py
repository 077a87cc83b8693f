"""Signed, expiring tokens for public links (card set-up, payment authentication).

Format: base64url(JSON payload) "." base64url(HMAC-SHA256(key, purpose "." payload)). The purpose
is mixed into the MAC so a token minted for one page cannot be replayed on another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from therabill.core.errors import UnauthorizedError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: str, purpose: str, claims: dict[str, Any], expires_at: datetime) -> str:
    payload = dict(claims, exp=int(expires_at.timestamp()))
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(key: str, purpose: str, token: str, now: datetime) -> dict[str, Any]:
    """Return the claims, or raise UnauthorizedError (bad shape, bad MAC or expired)."""
    try:
        body, mac = token.split(".")
        expected = hmac.new(key.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise UnauthorizedError("this link is not valid")
        claims: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, TypeError) as exc:
        raise UnauthorizedError("this link is not valid") from exc
    if int(claims.get("exp", 0)) < now.timestamp():
        raise UnauthorizedError("this link has expired", expired=True)
    return claims
