"""Sign-up's lookup on the Cognito staff directory, against moto's cognito-idp: whether an address
already signs in (any practice), found by the pool's email filter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from devstack.resources import user_pool
from moto import mock_aws

from tests.fakes.fake_directory import FakeDirectory
from therabill.adapters.cognito import CognitoDirectory


@pytest.fixture
def directory() -> Iterator[CognitoDirectory]:
    with mock_aws():
        client: Any = boto3.session.Session(region_name="us-east-1").client("cognito-idp")
        yield CognitoDirectory(client, user_pool(client, "lookup-staff"))


@pytest.mark.parametrize("make", ["cognito", "fake"])
def test_an_address_is_registered_once_a_user_has_it(directory: CognitoDirectory, make: str) -> None:
    subject: Any = directory if make == "cognito" else FakeDirectory()
    assert subject.email_registered("sam@harbor.test") is False
    subject.create_user(
        practice_id="prc_a", staff_id="stf_a", email="sam@harbor.test", name="Sam", role="biller"
    )
    assert subject.email_registered("sam@harbor.test") is True
    assert subject.email_registered("sal@harbor.test") is False


def test_an_address_that_would_break_the_filter_is_never_looked_up(directory: CognitoDirectory) -> None:
    with pytest.raises(ValueError, match="quotes"):
        directory.email_registered('a" or email ^= "@harbor.test')
