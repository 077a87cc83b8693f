"""Identifiers: sortable, random, URL-safe; prefixed by kind so a stray id is recognisable."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_ID = re.compile(r"^[a-z]{2,5}_[0-9a-hjkmnp-tv-z]{26}$")


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """A ULID-style id: 48 bits of milliseconds then 80 random bits, so ids sort by creation."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}_{_encode(millis, 10)}{_encode(secrets.randbits(80), 16)}"


def id_floor(prefix: str, now_ms: int) -> str:
    """The least id ``new_id(prefix, t)`` can give for any ``t >= now_ms``: a lower bound for
    "ids made since" (a sort-key range)."""
    return f"{prefix}_{_encode(max(0, now_ms), 10)}"


def derived_id(prefix: str, *parts: str) -> str:
    """A deterministic id from our own ids (for request idempotency): same parts, same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return f"{prefix}_{_encode(int.from_bytes(digest[:17], 'big') >> 6, 26)}"


def is_id(value: str, prefix: str) -> bool:
    return bool(_ID.match(value)) and value.startswith(prefix + "_")
