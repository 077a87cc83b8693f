"""Sign-up through the public API: one practice and one owner per email however often retried or
cut short, the same answer for a registered address (which is emailed how to sign in), rate
limits alike for both, and bad input refused with nothing written."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.conftest import World
from therabill import contract
from therabill.api.public_signup import ACCEPTED
from therabill.signup.models import email_key

FORM = {
    "email": "Owner@Harbor.test",
    "practice_name": "Harbor Speech Therapy",
    "time_zone": "America/Chicago",
    "name": "Ada Harbor",
}


ACCEPTED_BODY = {"message": ACCEPTED}  # the one answer to every accepted form


def _sign_up(world: World, body: dict[str, Any] | None = None, ip: str = "198.51.100.7") -> tuple[int, Any]:
    return world.public("POST", "/signup", FORM if body is None else body, source_ip=ip)


def _items(world: World, prefix: str) -> list[dict[str, Any]]:
    ddb = world.session.client("dynamodb")
    items = ddb.scan(TableName=world.resources.table_name)["Items"]
    return [i for i in items if i["PK"]["S"].startswith(prefix) or i["SK"]["S"].startswith(prefix)]


def _practices(world: World) -> list[dict[str, Any]]:
    return [i for i in _items(world, "P#") if i["SK"]["S"] == "PRACTICE"]


def _users(world: World) -> list[dict[str, str]]:
    cognito = world.session.client("cognito-idp")
    users = cognito.list_users(UserPoolId=world.resources.user_pool_id)["Users"]
    return [{a["Name"]: a["Value"] for a in u["Attributes"]} | {"_name": u["Username"]} for u in users]


def _subjects(world: World, to: str) -> list[str]:
    out = []
    for m in world.emails():
        msg = email.message_from_string(m.raw_data, policy=email.policy.default)
        if to in str(msg["To"]):
            out.append(str(msg["Subject"]))
    return out


class _CrashingDirectory:
    """The real directory, whose next user creation dies half way (the process is gone)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.crash = True

    def create_user(self, **kwargs: Any) -> str:
        if self.crash:
            self.crash = False
            raise TimeoutError("the function timed out")
        return str(self._inner.create_user(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_sign_up_creates_one_practice_and_its_owner_whose_user_carries_the_claims(world: World) -> None:
    status, body = _sign_up(world)
    assert status == 202, body
    [practice] = _practices(world)
    prc = practice["PK"]["S"].removeprefix("P#")
    assert practice["name"]["S"] == "Harbor Speech Therapy"
    assert practice["time_zone"]["S"] == "America/Chicago"
    assert practice["email"]["S"] == "owner@harbor.test"
    assert (practice["currency"]["S"], practice["country"]["S"], practice["cutoff_hour"]["N"]) == (
        "usd",
        "US",
        "23",
    )
    [staff] = [i for i in _items(world, "STAFF#") if i["SK"]["S"].startswith("STAFF#")]
    assert staff["role"]["S"] == "owner" and staff["email"]["S"] == "owner@harbor.test"
    [user] = _users(world)
    assert user[contract.CLAIM_PRACTICE_ID] == prc
    assert user[contract.CLAIM_STAFF_ID] == staff["staff_id"]["S"] == user["_name"]
    assert user[contract.CLAIM_ROLE] == "owner"
    assert user[contract.CLAIM_SUBJECT] == staff["sub"]["S"]
    assert user["email"] == "owner@harbor.test"


def test_the_country_and_currency_follow_the_time_zone(world: World) -> None:
    status, _ = _sign_up(world, {**FORM, "time_zone": "Europe/London"})
    assert status == 202
    [practice] = _practices(world)
    assert (practice["country"]["S"], practice["currency"]["S"]) == ("GB", "gbp")


def test_retries_create_nothing_more_and_answer_the_same(world: World) -> None:
    first = _sign_up(world)
    again = [
        _sign_up(world, {**FORM, "email": " owner@HARBOR.test ", "practice_name": "Other"}) for _ in range(2)
    ]
    assert all(answer == first for answer in again)
    assert len(_practices(world)) == 1 and _practices(world)[0]["name"]["S"] == "Harbor Speech Therapy"
    assert len(_users(world)) == 1
    assert len(_items(world, "SIGNUP#")) == 1


def test_a_crash_between_the_practice_and_its_owner_is_finished_by_the_retry(world: World) -> None:
    crashing = _CrashingDirectory(world.container.staff_directory)
    world.container.staff_directory = crashing  # type: ignore[assignment]
    # The owner's creation died after the practice was made: the form answers as it always does
    # (a fault only a new address can meet must not tell it from a registered one)
    assert _sign_up(world) == (202, ACCEPTED_BODY)
    assert len(_practices(world)) == 1 and _users(world) == []
    status, _ = _sign_up(world)
    assert status == 202
    [practice] = _practices(world)
    [user] = _users(world)
    assert user[contract.CLAIM_PRACTICE_ID] == practice["PK"]["S"].removeprefix("P#")
    [signup] = _items(world, "SIGNUP#")
    assert signup["status"]["S"] == "done"


def test_a_crash_of_the_table_half_way_is_finished_by_the_retry(world: World) -> None:
    world.dynamo.fail("transact_write_items", times=1)  # the owner's staff item
    assert _sign_up(world) == (202, ACCEPTED_BODY)  # answered as always; nothing of the owner yet
    assert len(_practices(world)) == 1 and _users(world) == []
    assert _sign_up(world)[0] == 202
    assert len(_practices(world)) == 1 and len(_users(world)) == 1


def _resends(world: World) -> list[str]:
    """Count the invitations the directory sends again (wraps the world's real directory)."""
    sent: list[str] = []
    inner = world.container.staff_directory

    class Counting:
        def resend_invitation(self, staff_id: str) -> bool:
            done = bool(inner.resend_invitation(staff_id))
            if done:
                sent.append(staff_id)
            return done

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    world.container.staff_directory = Counting()  # type: ignore[assignment]
    world.container.__dict__.pop("staff", None)  # the staff service takes the wrapped directory
    world.container.__dict__.pop("signup", None)
    return sent


def test_a_registered_address_gets_the_same_answer_and_an_email_saying_how_to_sign_in(world: World) -> None:
    new = _sign_up(world)
    assert _subjects(world, "owner@harbor.test") == []  # the invitation is the user pool's
    [user] = _users(world)
    world.session.client("cognito-idp").admin_set_user_password(
        UserPoolId=world.resources.user_pool_id,
        Username=user["_name"],
        Password="A-long-Passw0rd!",
        Permanent=True,
    )  # the owner has signed in and chosen a password
    resent = _resends(world)
    again = _sign_up(world)
    assert again == new
    assert _subjects(world, "owner@harbor.test") == ["You already have a Therabill account"]
    assert resent == []
    assert len(_practices(world)) == 1 and len(_users(world)) == 1


def test_an_owner_who_never_signed_in_is_invited_again_not_told_to_reset(world: World) -> None:
    """The first invitation lasts 3 days, and a password never set cannot be reset: signing up
    again sends the invitation again (a new temporary password) and nothing else."""
    new = _sign_up(world)
    [user] = _users(world)
    resent = _resends(world)
    assert _sign_up(world) == new
    assert resent == [user["_name"]]
    assert _subjects(world, "owner@harbor.test") == []
    assert len(_practices(world)) == 1 and len(_users(world)) == 1


def test_an_address_another_practice_invited_creates_nothing_and_is_emailed(world: World) -> None:
    world.container.staff_directory.create_user(
        practice_id="prc_other", staff_id="stf_other", email="owner@harbor.test", name="A", role="biller"
    )
    status, body = _sign_up(world)
    assert (status, body) == _sign_up(world, {**FORM, "email": "new@harbor.test"})
    assert len(_practices(world)) == 1  # only the new address's
    assert _subjects(world, "owner@harbor.test") == ["You already have a Therabill account"]
    [signup] = [
        i for i in _items(world, "SIGNUP#") if i["PK"]["S"] == f"SIGNUP#{email_key('owner@harbor.test')}"
    ]
    assert signup["status"]["S"] == "checking"


@pytest.mark.parametrize("registered", [False, True])
def test_too_many_sign_ups_for_one_address_are_refused_alike(world: World, registered: bool) -> None:
    if registered:
        assert _sign_up(world, ip="203.0.113.1")[0] == 202
    answers = [_sign_up(world, ip=f"203.0.113.{n}") for n in range(2, 6)]
    assert [s for s, _ in answers][: 3 - registered] == [202] * (3 - registered)
    status, body = answers[-1]
    assert status == 429 and body["code"] == "too_many_attempts"
    assert len(_practices(world)) == 1


def test_too_many_sign_ups_from_one_place_are_refused_with_retry_after(world: World) -> None:
    for n in range(10):
        assert _sign_up(world, {**FORM, "email": f"o{n}@harbor.test"}, ip="192.0.2.9")[0] == 202
    event_answer = world.handler("public_api")
    from devstack import apigw

    event = apigw.rest_event(
        "POST",
        "/signup",
        body=json.dumps({**FORM, "email": "x@harbor.test"}),
        headers={"Content-Type": "application/json"},
        source_ip="192.0.2.9",
    )
    response = event_answer(event, apigw.LambdaContext("public-api"))
    assert response["statusCode"] == 429
    headers = {
        **(response.get("headers") or {}),
        **{k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()},
    }
    assert 0 < int(headers["Retry-After"]) <= 3600
    assert len(_practices(world)) == 10
    world.clock.now += timedelta(hours=1)
    assert _sign_up(world, {**FORM, "email": "x@harbor.test"}, ip="192.0.2.9")[0] == 202


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "UTC"}, "time_zone"),
        ({"practice_name": "x" * 121}, "practice_name"),
        ({"name": ""}, "name"),
        ({"plan": "gold"}, "plan"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    world: World, change: dict[str, str], field: str
) -> None:
    status, body = _sign_up(world, {**FORM, **change})
    assert status == 400, body
    assert body["details"]["problems"][0]["field"] == field
    assert _items(world, "SIGNUP") == [] and _practices(world) == [] and _users(world) == []


def test_an_address_whose_owner_was_removed_may_sign_up_a_new_practice(world: World) -> None:
    """The last owner cannot go, so another owner removed the sign-up's owner: the address has no
    sign-in any more, and signing up again makes a new practice (the old one stays theirs)."""
    _sign_up(world)
    [first] = _practices(world)
    old = first["PK"]["S"].removeprefix("P#")
    owner_id = world.container.staff.owner_id(old)
    assert world.staff("DELETE", f"/staff/{owner_id}", practice_id=old)[0] == 204  # by another owner
    assert [u for u in _users(world) if u["email"] == "owner@harbor.test"] == []
    status, body = _sign_up(world, {**FORM, "practice_name": "Ada's New Practice"})
    assert (status, body) == (202, ACCEPTED_BODY)
    names = sorted(p["name"]["S"] for p in _practices(world))
    assert names == ["Ada's New Practice", "Harbor Speech Therapy"]
    [user] = [u for u in _users(world) if u["email"] == "owner@harbor.test"]
    assert user[contract.CLAIM_PRACTICE_ID] != old and user[contract.CLAIM_ROLE] == "owner"
    # And once more: the address has a sign-in again, so nothing new (the owner is re-invited).
    assert _sign_up(world, {**FORM, "practice_name": "Third"}) == (202, ACCEPTED_BODY)
    assert len(_practices(world)) == 2
