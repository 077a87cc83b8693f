from typing import Any

import boto3
import moto  # noqa: F401 - before any client exists, so that every client is one moto can serve
import pytest
from pytest_socket import disable_socket


@pytest.fixture(autouse=True)
def _no_network() -> None:
    """Unit tests are pure: any socket is a bug."""
    disable_socket(allow_unix_socket=True)


@pytest.fixture(scope="session")
def dynamodb_client() -> Any:
    """One boto3 DynamoDB client for the tier's moto tests: making a session and a client per test
    cost more than the tests. A client holds no data; each test's ``mock_aws`` starts moto empty."""
    return boto3.session.Session(region_name="us-east-1").client("dynamodb")
