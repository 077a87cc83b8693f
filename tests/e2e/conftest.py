"""The end-to-end tier: the whole local system (``devstack.run.start_stack``) over HTTP.

One stack per test process: the functions read their configuration from the process's
environment, so ``start_stack`` refuses a second one. The fixture reuses a stack another tier
already started in this process (``running_stack()``), otherwise starts one on free ports.

It lives as long as this package's tests (``scope="package"``), not the whole session: a running
stack sets ``AWS_ENDPOINT_URL`` and the functions' environment in the process and keeps polling
SQS and firing schedules on threads, so it must be gone before a later test in the same worker
runs (integration tests use in-process moto; unit tests disable sockets). Every e2e module is
marked ``xdist_group("local-stack")`` — the group tests/devstack uses — so under
``pytest -n 2 --dist loadgroup`` every test that needs a stack runs in one worker, one after the
other. Sockets are allowed here (only the unit tier disables them).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devstack.functions import import_handler, spec_for
from devstack.run import Stack, running_stack, start_stack

STACK_GROUP = "local-stack"  # the same xdist group as tests/devstack/test_local_stack.py

CHROMIUM = Path(os.environ.get("THERABILL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    existing = running_stack()
    if existing is not None:
        yield existing
        return
    started = start_stack(
        tmp_path_factory.mktemp("e2e-stack"), ports_auto=True, scheduler_refresh_seconds=0.5
    )
    try:
        yield started
    finally:
        started.stop()


class Tap:
    """Wraps a function's real handler and keeps every event it was invoked with."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.real = import_handler(spec_for(name).handler)
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, event: Any, context: Any) -> Any:
        with self._lock:
            self.events.append(event)
        return self.real(event, context)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.snapshot():
                if predicate(event):
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} got no matching event in {timeout}s")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def taps(stack: Stack) -> Iterator[dict[str, Tap]]:
    """The real stripe-webhook and stripe-worker, recorded for the module's tests."""
    installed = {name: Tap(name) for name in ("stripe-webhook", "stripe-worker")}
    for name, tap in installed.items():
        stack.registry.set_override(name, tap)
    try:
        yield installed
    finally:
        for name in installed:
            stack.registry.set_override(name, None)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the package's browser tests, launched when the first needs it:
    each test still gets a browser context of its own (``Watched``), so no cookies, storage or
    pages are shared; the modules use it through their ``browser`` fixture."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            launched.close()
