import pytest
from pytest_socket import disable_socket


@pytest.fixture(autouse=True)
def _no_network() -> None:
    """Unit tests are pure: any socket is a bug."""
    disable_socket(allow_unix_socket=True)
