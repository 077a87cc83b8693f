"""boto3 clients, created lazily and cached per process (never at import)."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


@cache
def client(service: str) -> Any:
    """A boto3 client. AWS_ENDPOINT_URL (the local emulator) is honoured by boto3 itself."""
    import boto3  # noqa: PLC0415 - boto3 is loaded on the first AWS call, not at import (cold start)

    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]
