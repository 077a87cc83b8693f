"""The local sign-in behind ``POST /_local/token`` (devstack/local_staff.py), against in-process
moto: a token is the practice's member with the email, made once; a disabled one gets none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from devstack.local_staff import LocalStaff
from devstack.resources import provision
from moto import mock_aws

from devstack import local_auth
from therabill import contract
from therabill.core.ids import new_id

SECRETS = {
    "stripe_secret_key": "sk_test_local",
    "stripe_publishable_key": "pk_test_local",
    "stripe_webhook_secrets": ["whsec_local"],
    "link_signing_key": "local-sign-in-test-link-key-0123456789abcdef",
}


@pytest.fixture
def sign_in() -> Iterator[LocalStaff]:
    with mock_aws():
        session: Any = boto3.session.Session(region_name="us-east-1")
        yield LocalStaff(session, provision(session, secrets=SECRETS, prefix="sign-in"))


def _claims(staff: LocalStaff, body: str) -> dict[str, Any]:
    return local_auth.verify(local_auth.token_for_request(body.encode(), staff.sign_in))


def test_the_first_token_for_an_email_makes_the_member_and_later_ones_are_the_same(
    sign_in: LocalStaff,
) -> None:
    prc = new_id("prc")
    first = _claims(sign_in, f'{{"practice_id": "{prc}", "role": "biller", "email": "Bea@P.test"}}')
    assert first[contract.CLAIM_STAFF_ID].startswith("stf_") and first[contract.CLAIM_ROLE] == "biller"
    # Asked again with another role and sub: the member's own role, sub and staff id.
    again = _claims(
        sign_in, f'{{"practice_id": "{prc}", "role": "owner", "sub": "x", "email": "bea@p.test"}}'
    )
    for claim in (contract.CLAIM_STAFF_ID, contract.CLAIM_SUBJECT, contract.CLAIM_ROLE):
        assert again[claim] == first[claim]


def test_a_disabled_member_gets_no_token(sign_in: LocalStaff) -> None:
    prc = new_id("prc")
    owner = _claims(sign_in, f'{{"practice_id": "{prc}", "role": "owner", "email": "o@p.test"}}')
    biller = _claims(sign_in, f'{{"practice_id": "{prc}", "role": "biller", "email": "b@p.test"}}')
    assert owner[contract.CLAIM_STAFF_ID] != biller[contract.CLAIM_STAFF_ID]
    sign_in.staff.disable(prc, biller[contract.CLAIM_STAFF_ID])
    with pytest.raises(local_auth.TokenRequestError) as refused:
        _claims(sign_in, f'{{"practice_id": "{prc}", "role": "biller", "email": "b@p.test"}}')
    assert refused.value.field == "email" and "disabled" in refused.value.problem
