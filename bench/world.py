"""The integration tests' in-process World, built outside pytest.

The same harness as the ``world`` fixture in tests/integration/conftest.py: moto's ``mock_aws``,
``devstack.resources.provision`` and a ``wiring.Container`` whose StripeGateway talks to FakeStripe.
The classes come from that module; only the fixture's few set-up lines are repeated here (a fixture
cannot be called outside pytest). Keep them in step with the fixture.
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
    import boto3
    from devstack.resources import provision
    from moto import mock_aws
    from pytest_socket import disable_socket, enable_socket
    from tests.fakes.fake_stripe import FakeStripe
    from tests.integration.conftest import SECRETS, Clock, World

    from therabill import wiring
    from therabill.adapters.stripe_gateway import StripeGateway
    from therabill.settings import Settings

    disable_socket(allow_unix_socket=True)  # as the fixture: nothing may leave the process
    try:
        with mock_aws():
            session = boto3.session.Session(region_name="us-east-1")
            resources = provision(session, secrets=SECRETS)
            if on_session is not None:
                on_session(session)
            fake = FakeStripe()
            clock = Clock()
            settings = Settings(
                table_name=resources.table_name,
                secrets_arn=resources.secrets_arn,
                stripe_events_queue_url=resources.stripe_events_queue_url,
                email_sender=resources.email_sender,
                public_base_url="https://pay.therabill.test",  # type: ignore[arg-type]
                stripe_js_url="https://js.stripe.com/v3/",
            )
            gateway = StripeGateway(
                SECRETS["stripe_secret_key"], http_client=fake.http_client(), max_network_retries=0
            )
            container = wiring.Container(settings, clock=clock, clients=session.client, gateway=gateway)
            with wiring.use(container):
                yield World(
                    container=container, resources=resources, stripe=fake, clock=clock, session=session
                )
    finally:
        enable_socket()
