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


class LinkExpiredError(UnauthorizedError):
    """A token we signed, past its expiry: its claims can be trusted to say who sent it."""

    def __init__(self, claims: dict[str, Any]) -> None:
        super().__init__("this link has expired", expired=True)
        self.claims = claims


def signed_claims(key: str, purpose: str, token: str) -> dict[str, Any] | None:
    """The claims of a token we signed for ``purpose``, expired or not; None when it is not one
    (a bad shape or MAC: nothing in it can be trusted)."""
    try:
        body, mac = token.split(".")
        expected = hmac.new(key.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def authentic(key: str, purpose: str, token: str) -> dict[str, Any]:
    """The claims of a token we signed for ``purpose``, expired or not; else UnauthorizedError."""
    claims = signed_claims(key, purpose, token)
    if claims is None:
        raise UnauthorizedError("this link is not valid")
    return claims


def check_unexpired(claims: dict[str, Any], now: datetime) -> None:
    """LinkExpiredError (carrying the claims) once the token's ``exp`` has passed."""
    if int(claims.get("exp", 0)) < now.timestamp():
        raise LinkExpiredError(claims)


def verify(key: str, purpose: str, token: str, now: datetime) -> dict[str, Any]:
    """Return the claims, or raise UnauthorizedError (bad shape or MAC) or LinkExpiredError."""
    claims = authentic(key, purpose, token)
    check_unexpired(claims, now)
    return claims
