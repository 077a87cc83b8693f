"""The Cognito staff directory against moto's cognito-idp: the claims each user carries, a
retried create answering the same user, and the admin actions the staff service relies on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from devstack.resources import user_pool
from moto import mock_aws

from therabill import contract
from therabill.adapters.cognito import CognitoDirectory
from therabill.core.errors import DependencyUnavailableError
from therabill.core.ids import new_id
from therabill.staff.errors import DirectoryConflictError, EmailRegisteredError, EmailUnavailableError


@pytest.fixture
def cognito() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.session.Session(region_name="us-east-1").client("cognito-idp")
        yield client, user_pool(client, "contract-staff")


def _attrs(client: Any, pool: str, username: str) -> dict[str, str]:
    out = client.admin_get_user(UserPoolId=pool, Username=username)
    return {a["Name"]: a["Value"] for a in out["UserAttributes"]} | {"_enabled": str(out["Enabled"])}


def _create(directory: CognitoDirectory, practice: str, staff: str, email: str = "a@p.test") -> str:
    return directory.create_user(practice_id=practice, staff_id=staff, email=email, name="A B", role="biller")


def test_a_user_carries_the_practice_staff_and_role_claims_and_a_verified_email(cognito: Any) -> None:
    client, pool = cognito
    prc, stf = new_id("prc"), new_id("stf")
    sub = _create(CognitoDirectory(client, pool), prc, stf, "Biller@P.test")
    attrs = _attrs(client, pool, stf)
    assert attrs[contract.CLAIM_SUBJECT] == sub
    assert attrs[contract.CLAIM_PRACTICE_ID] == prc
    assert attrs[contract.CLAIM_STAFF_ID] == stf
    assert attrs[contract.CLAIM_ROLE] == "biller"
    assert attrs["email_verified"] == "true"


def test_a_retried_create_answers_the_same_user(cognito: Any) -> None:
    client, pool = cognito
    directory = CognitoDirectory(client, pool)
    prc, stf = new_id("prc"), new_id("stf")
    first = _create(directory, prc, stf)
    assert _create(directory, prc, stf) == first
    assert len(client.list_users(UserPoolId=pool)["Users"]) == 1


def test_a_user_of_that_name_with_other_claims_is_a_conflict_not_the_same_user(cognito: Any) -> None:
    client, pool = cognito
    directory = CognitoDirectory(client, pool)
    stf = new_id("stf")
    _create(directory, new_id("prc"), stf)
    with pytest.raises(DirectoryConflictError):
        _create(directory, new_id("prc"), stf)


def test_an_email_another_user_has_is_refused_without_saying_where(cognito: Any) -> None:
    """Cognito answers AliasExistsException for a verified email another user has (moto does not
    check aliases: the answer is stubbed)."""
    client, pool = cognito
    with Stubber(client) as stub:
        stub.add_client_error("admin_create_user", service_error_code="AliasExistsException")
        with pytest.raises(EmailRegisteredError) as refused:
            _create(CognitoDirectory(client, pool), new_id("prc"), new_id("stf"), "same@p.test")
    assert refused.value.message == "this email address cannot be invited"


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        ("InvalidParameterException", EmailUnavailableError),  # an address it will not take
        ("UnexpectedLambdaException", DependencyUnavailableError),  # the message trigger failed
        ("InvalidLambdaResponseException", DependencyUnavailableError),
        ("UserLambdaValidationException", DependencyUnavailableError),
        ("CodeDeliveryFailureException", DependencyUnavailableError),  # the mail was refused
    ],
)
def test_an_invitation_the_pool_cannot_make_or_send_is_a_clear_refusal_not_a_500(
    cognito: Any, code: str, refusal: type[Exception]
) -> None:
    client, pool = cognito
    with Stubber(client) as stub:
        stub.add_client_error("admin_create_user", service_error_code=code)
        with pytest.raises(refusal):
            _create(CognitoDirectory(client, pool), new_id("prc"), new_id("stf"), "x@p.test")


def test_a_busy_service_is_a_dependency_to_retry(cognito: Any) -> None:
    client, pool = cognito
    with Stubber(client) as stub:
        stub.add_client_error("admin_disable_user", service_error_code="TooManyRequestsException")
        with pytest.raises(DependencyUnavailableError):
            CognitoDirectory(client, pool).disable(new_id("stf"))


def test_role_disable_enable_sign_out_and_delete(cognito: Any) -> None:
    client, pool = cognito
    directory = CognitoDirectory(client, pool)
    stf = new_id("stf")
    _create(directory, new_id("prc"), stf)
    directory.set_role(stf, "owner")
    assert _attrs(client, pool, stf)[contract.CLAIM_ROLE] == "owner"
    directory.disable(stf)
    assert _attrs(client, pool, stf)["_enabled"] == "False"
    directory.enable(stf)
    assert _attrs(client, pool, stf)["_enabled"] == "True"
    directory.sign_out(stf)
    directory.delete(stf)
    with pytest.raises(client.exceptions.UserNotFoundException):
        client.admin_get_user(UserPoolId=pool, Username=stf)
    directory.delete(stf)  # gone already: not an error
    directory.sign_out(stf)


def test_an_invitation_is_resent_only_to_a_user_who_never_signed_in(cognito: Any) -> None:
    client, pool = cognito
    directory = CognitoDirectory(client, pool)
    stf = new_id("stf")
    _create(directory, new_id("prc"), stf)
    assert directory.resend_invitation(stf) is True  # still on the temporary password
    client.admin_set_user_password(UserPoolId=pool, Username=stf, Password="A-long-Passw0rd!", Permanent=True)
    assert directory.resend_invitation(stf) is False  # signed in: a reset is the way now
    assert directory.resend_invitation(new_id("stf")) is False  # no such user
