"""Infrastructure tests: synthesize the CDK app once per test process, offline, without Docker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra"
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# The stack must synthesize environment-agnostic, whatever the developer's shell exports.
os.environ.pop("CDK_DEFAULT_ACCOUNT", None)
os.environ.pop("CDK_DEFAULT_REGION", None)


import pytest  # noqa: E402 - after the path and environment above

from tests.infra.test_stack import Synth, synthesize  # noqa: E402


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The stack's template, read-only for every infra test module (the modules that use it are in
    one xdist group, so one worker synthesizes it once)."""
    return synthesize(tmp_path_factory)
