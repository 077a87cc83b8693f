"""The integration tests' in-process World, built outside pytest.

The same harness as the ``world`` fixture in tests/integration/conftest.py (``open_world``: moto's
``mock_aws``, ``devstack.resources.provision`` and a ``wiring.Container`` whose StripeGateway talks
to FakeStripe), with the test environment set first, as tests/conftest.py does.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# tests/conftest.py sets these before any boto3 client exists; so must we (before the imports of
# the entry modules too: Powertools reads them when Tracer/Metrics are created).
TEST_ENV = {
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


def prepare_environment() -> None:
    os.environ.update(TEST_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    # pyproject's pytest filterwarnings has the same line.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


@contextmanager
def build_world(*, on_session: Any = None) -> Iterator[Any]:
    """Yield a ``tests.integration.conftest.World``. ``on_session(session)`` runs after the
    resources are provisioned and before any client of the system under test is created."""
    prepare_environment()
    from pytest_socket import disable_socket, enable_socket
    from tests.integration.conftest import open_world

    disable_socket(allow_unix_socket=True)  # as the fixture: nothing may leave the process
    try:
        with open_world(on_session=on_session) as world:
            yield world
    finally:
        enable_socket()
