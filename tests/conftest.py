"""Shared test set-up: no AWS credentials or endpoints leak in; shared data is optional."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from _pytest import runner

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

T = TypeVar("T")

# CPython 3.11 keeps a thread's Python frames in chunks of 16 KiB and frees a chunk as soon as the
# call stack shrinks back out of it (CPython 3.13 keeps one spare). The stacks under a test are
# deep (pytest, the Lambda handlers, Powertools, botocore, moto) and cross such a boundary
# thousands of times per test: each crossing is an mmap and a munmap, which took a fifth of the
# integration tier's time. A frame that reserves about a megabyte of value stack, never used,
# gets a 2 MiB chunk of its own; the test runs in the rest of it, without crossing a boundary.
_RESERVED_STACK_SLOTS = 131_072


def _in_one_chunk(run: Callable[[], T]) -> T:
    return run()


_in_one_chunk.__code__ = _in_one_chunk.__code__.replace(
    co_stacksize=_in_one_chunk.__code__.co_stacksize + _RESERVED_STACK_SLOTS
)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool:
    """pytest's own protocol for the test (set-up, call, tear-down, reports), in one chunk."""
    return _in_one_chunk(lambda: runner.pytest_runtest_protocol(item, nextitem))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the project; tests that need it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
