"""The local stack a tests/devstack module runs against: its own (module scope), or the one another
tier already started in this process (``running_stack()``; only one can run per process).

Each module keeps a stack of its own on purpose: a module in between resets the runtime's AWS
session (and with it the local Cognito hooks a running stack installed), so one stack shared by
the package would lose them. Modules that use it are marked ``xdist_group("local-stack")``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from devstack.run import Stack, running_stack, start_stack


def module_stack(tmp_path_factory: pytest.TempPathFactory, **options: Any) -> Iterator[Stack]:
    """For a module's ``stack`` fixture: yield the running stack, else start one with ``options``
    (start_stack's) and stop it after the module."""
    existing = running_stack()
    if existing is not None:
        yield existing
        return
    running = start_stack(tmp_path_factory.mktemp("devstack"), ports_auto=True, **options)
    try:
        yield running
    finally:
        running.stop()
