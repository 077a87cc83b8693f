"""Shared test set-up: no AWS credentials or endpoints leak in; shared data is optional."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before any boto3 client exists: fake credentials, a fixed region, no tracing, and no endpoint
# from the developer's shell (the e2e tier sets its own).
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

# The X-Ray SDK (behind Powertools' Tracer) creates a UDP socket when first imported: import it
# now, before the unit and integration tiers disable sockets.
import aws_xray_sdk.core  # noqa: F401

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the project; tests that need it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
