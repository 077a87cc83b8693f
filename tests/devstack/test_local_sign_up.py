"""Sign-up and sign-in on the local system, as a practice's owner does it: the sign-up form, the
invitation in the local mailbox (worded by the user pool's CustomMessage trigger, with the
temporary password), the first sign-in choosing a password, and the token's claims, which the
staff API then takes."""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from devstack.run import Stack

from devstack import local_auth
from tests.devstack.stacks import module_stack
from therabill import contract

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("local-stack"),
    pytest.mark.skipif(
        importlib.util.find_spec("therabill.entrypoints.staff_api") is None,
        reason="the staff API entry point is not written yet",
    ),
]

NEW_PASSWORD = "Harbor-Tide-2031!"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from module_stack(tmp_path_factory, seed=False)


def _sign_in(stack: Stack, **body: Any) -> requests.Response:
    return requests.post(f"{stack.gateway_url}/_local/sign-in", json=body, timeout=30)


def _signed_up(stack: Stack) -> tuple[str, dict[str, Any]]:
    address = f"owner-{uuid.uuid4().hex[:8]}@harbor.localhost"
    form = {"email": address, "practice_name": "Harbor Speech", "time_zone": "America/Chicago", "name": "Ada"}
    answer = requests.post(f"{stack.gateway_url}/signup", json=form, timeout=30)
    assert answer.status_code == 202, answer.text
    [invitation] = requests.get(
        f"{stack.gateway_url}/_local/emails", params={"to": address}, timeout=10
    ).json()
    return address, invitation


def test_the_invitation_lands_in_the_local_mailbox_naming_the_practice(stack: Stack) -> None:
    address, invitation = _signed_up(stack)
    assert invitation["subject"] == "You're invited to Harbor Speech on Therabill"
    assert "Harbor Speech has invited you to Therabill as an owner" in invitation["text"]
    assert "{####}" not in invitation["text"] and "{username}" not in invitation["text"]
    assert re.search(r"temporary password (\S+)\.", invitation["text"])
    assert invitation["html"] and "<a href=" in invitation["html"]
    assert invitation["to"] == [address]


def test_the_first_sign_in_sets_a_password_and_the_token_carries_the_users_claims(stack: Stack) -> None:
    address, invitation = _signed_up(stack)
    match = re.search(r"temporary password (\S+)\.", invitation["text"])
    assert match is not None
    temporary = match.group(1)

    first = _sign_in(stack, email=address, password=temporary)
    assert first.status_code == 409 and first.json()["code"] == "new_password_required"
    signed_in = _sign_in(stack, email=address.upper(), password=temporary, new_password=NEW_PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    claims = local_auth.verify(signed_in.json()["token"])

    cognito = stack.boto3_session().client("cognito-idp", endpoint_url=stack.moto_url)
    [user] = cognito.list_users(UserPoolId=stack.resources.user_pool_id, Filter=f'email = "{address}"')[
        "Users"
    ]
    attributes = {a["Name"]: a["Value"] for a in user["Attributes"]}
    assert claims[contract.CLAIM_PRACTICE_ID] == attributes[contract.CLAIM_PRACTICE_ID]
    assert claims[contract.CLAIM_STAFF_ID] == attributes[contract.CLAIM_STAFF_ID] == user["Username"]
    assert claims[contract.CLAIM_ROLE] == "owner"
    assert claims[contract.CLAIM_SUBJECT] == attributes["sub"]

    practice = requests.get(
        f"{stack.gateway_url}/practice",
        headers={"Authorization": f"Bearer {signed_in.json()['token']}"},
        timeout=30,
    )
    assert practice.status_code == 200 and practice.json()["name"] == "Harbor Speech"

    assert _sign_in(stack, email=address, password=NEW_PASSWORD).status_code == 200
    assert _sign_in(stack, email=address, password=temporary).status_code == 401


def test_a_wrong_password_or_an_unknown_address_is_the_same_401(stack: Stack) -> None:
    address, _ = _signed_up(stack)
    wrong = _sign_in(stack, email=address, password="Not-It-0000!")
    unknown = _sign_in(stack, email="nobody@harbor.localhost", password="Not-It-0000!")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "x"}, "email"),
        ({"email": "a@b.test"}, "password"),
        ({"email": "a@b.test", "password": "x", "pin": 1}, "pin"),
    ],
)
def test_a_sign_in_body_it_cannot_use_names_the_field(stack: Stack, body: dict[str, Any], field: str) -> None:
    answer = _sign_in(stack, **body)
    assert answer.status_code == 400 and answer.json()["details"]["field"] == field
