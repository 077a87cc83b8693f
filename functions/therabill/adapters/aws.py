"""boto3 clients, created lazily and cached per process (never at import).

Every client comes from one boto3 session: a session loads the endpoint rules and lists botocore's
service models once, so a second session per client would repeat that work on every cold start
(tens of ms per client). Creating clients from one session is not thread-safe, hence the lock.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)
_LOCK = threading.Lock()


@cache
def session() -> Any:
    """The process's one boto3 session."""
    import boto3  # noqa: PLC0415 - boto3 is loaded on the first AWS call, not at import (cold start)

    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """A boto3 client. AWS_ENDPOINT_URL (the local emulator) is honoured by boto3 itself."""
    with _LOCK:
        return session().client(service, config=_CONFIG)


def cache_clear() -> None:
    """Forget the session and its clients (the local system, when it points them elsewhere)."""
    client.cache_clear()
    session.cache_clear()
