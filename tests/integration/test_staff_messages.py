"""The staff user pool's CustomMessage trigger, called with Cognito's own event shapes: the
invitation names the practice, the role, where to sign in, and carries the placeholders Cognito
requires; the reset code names the practice; other messages are left as Cognito words them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from devstack import apigw
from tests.integration.conftest import World
from tests.integration.scenario import create_practice
from therabill import contract

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _event(source: str, practice_id: str, role: str = "biller") -> dict[str, Any]:
    request: dict[str, Any] = {
        "userAttributes": {
            "sub": "5f0c6a2e-0000-4000-8000-000000000001",
            "email": "sam@harbor.test",
            "email_verified": "true",
            "name": "Sam Rivers",
            contract.CLAIM_PRACTICE_ID: practice_id,
            contract.CLAIM_STAFF_ID: "stf_01abc",
            contract.CLAIM_ROLE: role,
            "cognito:user_status": "FORCE_CHANGE_PASSWORD",
        },
        "codeParameter": "{####}",
        "linkParameter": "{##Click Here##}",
    }
    if source == "CustomMessage_AdminCreateUser":
        request["usernameParameter"] = "{username}"
    return {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": "us-east-1_local",
        "userName": "stf_01abc",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "CLIENT_ID_NOT_APPLICABLE"},
        "triggerSource": source,
        "request": request,
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }


def _trigger(world: World, event: dict[str, Any]) -> dict[str, Any]:
    handler = world.handler("staff_messages")
    return dict(handler(copy.deepcopy(event), apigw.LambdaContext(contract.STAFF_MESSAGES_FUNCTION)))


def test_the_invitation_names_the_practice_role_and_sign_in_with_cognitos_placeholders(world: World) -> None:
    practice = create_practice(world, connect=False, name="Harbor & Sons Therapy")
    answer = _trigger(world, _event("CustomMessage_AdminCreateUser", practice.id))
    response = answer["response"]
    assert response["emailSubject"] == "You're invited to Harbor & Sons Therapy on Therabill"
    html = response["emailMessage"]
    assert "Harbor &amp; Sons Therapy has invited you" in html  # escaped in the HTML
    assert "a biller" in html
    assert "{username}" in html and "{####}" in html
    assert "https://pay.therabill.test" in html  # where to sign in (the public base URL here)
    assert "Hello Sam Rivers," in html
    assert answer["triggerSource"] == "CustomMessage_AdminCreateUser"


def test_the_owners_invitation_after_sign_up_says_owner(world: World) -> None:
    status, _ = world.public(
        "POST",
        "/signup",
        {
            "email": "o@harbor.test",
            "practice_name": "Tide Pool OT",
            "time_zone": "America/Denver",
            "name": "O",
        },
    )
    assert status == 202
    users = world.session.client("cognito-idp").list_users(UserPoolId=world.resources.user_pool_id)["Users"]
    attributes = {a["Name"]: a["Value"] for a in users[0]["Attributes"]}
    event = _event("CustomMessage_AdminCreateUser", attributes[contract.CLAIM_PRACTICE_ID], role="owner")
    html = _trigger(world, event)["response"]["emailMessage"]
    assert "Tide Pool OT has invited you to Therabill as an owner" in html


def test_the_reset_code_names_the_practice(world: World) -> None:
    practice = create_practice(world, connect=False, name="Harbor Family Practice")
    response = _trigger(world, _event("CustomMessage_ForgotPassword", practice.id))["response"]
    assert response["emailSubject"] == "Your Therabill password reset code"
    assert "{####}" in response["emailMessage"]
    assert "for Harbor Family Practice" in response["emailMessage"]


def test_a_practice_that_cannot_be_found_still_gets_a_valid_invitation(world: World) -> None:
    response = _trigger(world, _event("CustomMessage_AdminCreateUser", "prc_gone"))["response"]
    assert "{username}" in response["emailMessage"] and "{####}" in response["emailMessage"]
    assert "Your practice has invited you" in response["emailMessage"]


def test_other_messages_are_left_as_cognito_words_them(world: World) -> None:
    event = _event("CustomMessage_UpdateUserAttribute", "prc_x")
    assert _trigger(world, event) == event


def test_the_sample_event_gets_an_invitation(world: World) -> None:
    event = json.loads((EVENTS / "cognito" / "custom_message_invitation.json").read_text())
    response = _trigger(world, event)["response"]
    assert response["emailSubject"] and "{####}" in response["emailMessage"]
