"""Shared test set-up: no AWS credentials or endpoints leak in; shared data is optional."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
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

from tests import moto_speedups

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _one_user_pool_key() -> None:
    """moto reads and imports the same RSA private key from the same file for every user pool it
    makes, a third of a second each, and every integration world makes a pool: more than half of
    opening a world. The key is imported once per process and every pool shares it (it is the
    same key in every pool anyway: moto signs every pool's tokens with it)."""
    from moto.cognitoidp import models

    real = models.jwk.RSAKey.import_key
    imported: dict[str, object] = {}

    def import_key(value: object, *args: object, **kwargs: object) -> object:
        key = json.dumps(value, sort_keys=True, default=str)
        if key not in imported:
            imported[key] = real(value, *args, **kwargs)  # type: ignore[arg-type]
        return imported[key]

    models.jwk = SimpleNamespace(RSAKey=SimpleNamespace(import_key=import_key))  # type: ignore[assignment]


_one_user_pool_key()
moto_speedups.install()

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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``pytest -n 2 --dist loadgroup`` grouping by ``xdist_group``. xdist tells its scheduler
    a test's group by appending ``@group`` to the test's node id, on the worker; pytest 9.2 builds
    the id from ``item._id``, so the suffix xdist writes is lost, each test is scheduled alone and
    a group's tests (the local stack's, a module's costly fixture) spread over every worker. Here
    the suffix is written where pytest reads the id, the way xdist did before."""
    if not getattr(config.option, "loadgroup", False) or not items or not hasattr(items[0], "_id"):
        return
    from _pytest.nodeid import NodeId  # pytest 9.2+ only: imported once the id is known to be one

    for item in items:
        names = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            path, _, rest = (item.nodeid + suffix).partition("::")
            item._id = NodeId(path=path, names=tuple(rest.split("::")))  # params stay in the name


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
