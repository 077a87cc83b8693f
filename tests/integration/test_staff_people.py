"""The practice's people through the staff API (the real handler, moto's Cognito user pool):
invitations with the claims set, role changes and removals holding from the very next request,
the owner who cannot be the last to go, other practices out of reach, bad input refused with
nothing written."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from devstack.local_cognito import refuse_taken_email

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import World
from therabill import contract
from therabill.staff.service import INVITES_PER_ADDRESS_PER_DAY, INVITES_PER_PRACTICE_PER_DAY


def _cognito(world: World) -> Any:
    return world.session.client("cognito-idp")


def _user(world: World, staff_id: str) -> dict[str, str]:
    """The Cognito user's attributes (its token's claims), and whether it is enabled."""
    out = _cognito(world).admin_get_user(UserPoolId=world.resources.user_pool_id, Username=staff_id)
    return {a["Name"]: a["Value"] for a in out["UserAttributes"]} | {"enabled": str(out["Enabled"])}


def _users(world: World) -> int:
    return len(_cognito(world).list_users(UserPoolId=world.resources.user_pool_id)["Users"])


def as_member(world: World, staff_id: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A request with the ID token Cognito issues the member: the claims of their user as it was
    when they signed in (``_signed_in`` keeps it, as a token lives on after a change)."""
    if staff_id not in _signed_in:
        _signed_in[staff_id] = _token_claims(world, staff_id)
    claims = _signed_in[staff_id]
    return world.staff(method, path, body, practice_id=claims[contract.CLAIM_PRACTICE_ID], claims=claims)


_signed_in: dict[str, dict[str, str]] = {}


def _token_claims(world: World, staff_id: str) -> dict[str, str]:
    user = _user(world, staff_id)
    return apigw.staff_claims(
        user[contract.CLAIM_PRACTICE_ID],
        user[contract.CLAIM_ROLE],
        sub=user[contract.CLAIM_SUBJECT],
        email=user[contract.CLAIM_EMAIL],
        staff_id=user[contract.CLAIM_STAFF_ID],
    )


@pytest.fixture(autouse=True)
def _forget_tokens() -> None:
    _signed_in.clear()


def invite(world: World, practice_id: str, email: str, role: str, name: str = "Bea Biller") -> dict[str, Any]:
    status, member = world.staff(
        "POST", "/staff", {"email": email, "name": name, "role": role}, practice_id=practice_id
    )
    assert status == 201, member
    return dict(member)


def staff_items(world: World, practice_id: str) -> list[dict[str, Any]]:
    return world.container.table.query_all(f"P#{practice_id}", prefix="STAFF")


def test_an_invitation_makes_a_user_with_the_claims_and_the_invitee_can_work(world: World) -> None:
    p = scenario.create_practice(world, connect=False)
    member = invite(world, p.id, " Bea@Harbor.TEST ", "biller")
    assert (member["email"], member["role"], member["status"]) == ("bea@harbor.test", "biller", "invited")
    user = _user(world, member["id"])
    assert user[contract.CLAIM_PRACTICE_ID] == p.id
    assert user[contract.CLAIM_STAFF_ID] == member["id"]
    assert user[contract.CLAIM_ROLE] == "biller"
    assert (user[contract.CLAIM_EMAIL], user["email_verified"]) == ("bea@harbor.test", "true")
    status, listing = world.staff("GET", "/staff", practice_id=p.id)
    assert status == 200 and member["id"] in [m["id"] for m in listing]
    # The invitee signs in: their first request works and makes them active.
    status, client = as_member(world, member["id"], "POST", "/clients", {"first_name": "A", "last_name": "B"})
    assert status == 201, client
    status, now = world.staff("GET", f"/staff/{member['id']}", practice_id=p.id)
    assert now["status"] == "active" and now["activated_at"] is not None
    # ... and a biller does not manage staff.
    assert as_member(world, member["id"], "GET", "/staff")[0] == 403
    assert (
        as_member(world, member["id"], "POST", "/staff", {"email": "x@h.test", "name": "X", "role": "owner"})[
            0
        ]
        == 403
    )


def test_a_demoted_owner_is_refused_the_owner_action_on_the_very_next_request(world: World) -> None:
    p = scenario.create_practice(world, connect=False)
    second = invite(world, p.id, "olga@harbor.test", "owner", name="Olga")
    assert as_member(world, second["id"], "GET", "/staff")[0] == 200
    status, changed = world.staff("PATCH", f"/staff/{second['id']}", {"role": "biller"}, practice_id=p.id)
    assert status == 200 and changed["role"] == "biller", changed
    # Her token still says owner; the staff item says biller, and it is the item that counts.
    assert _signed_in[second["id"]][contract.CLAIM_ROLE] == "owner"
    status, refused = as_member(world, second["id"], "GET", "/staff")
    assert status == 403, refused
    assert _user(world, second["id"])[contract.CLAIM_ROLE] == "biller"  # the next token says so too
    assert as_member(world, second["id"], "GET", "/clients")[0] == 200  # still works as a biller


def test_a_removed_member_is_refused_on_the_next_request_and_signed_out(world: World) -> None:
    p = scenario.create_practice(world, connect=False)
    member = invite(world, p.id, "fred@harbor.test", "front_desk")
    assert as_member(world, member["id"], "GET", "/clients")[0] == 200
    status, body = world.staff("DELETE", f"/staff/{member['id']}", practice_id=p.id)
    assert status == 204 and body == "", body
    status, refused = as_member(world, member["id"], "GET", "/clients")
    assert status == 401 and refused["message"] == "this staff member is removed", refused
    with pytest.raises(_cognito(world).exceptions.UserNotFoundException):
        _user(world, member["id"])
    _, listing = world.staff("GET", "/staff", practice_id=p.id)
    assert member["id"] not in [m["id"] for m in listing]
    _, gone = world.staff("GET", f"/staff/{member['id']}", practice_id=p.id)
    assert gone["status"] == "removed"
    assert world.staff("POST", f"/staff/{member['id']}/enable", practice_id=p.id)[0] == 409
    assert world.staff("DELETE", f"/staff/{member['id']}", practice_id=p.id)[0] == 204  # again: the same
    # The email may be invited again: a new member, a new user.
    again = invite(world, p.id, "fred@harbor.test", "biller")
    assert again["id"] != member["id"] and _user(world, again["id"])[contract.CLAIM_ROLE] == "biller"


def test_a_disabled_member_is_refused_until_enabled(world: World) -> None:
    p = scenario.create_practice(world, connect=False)
    member = invite(world, p.id, "cal@harbor.test", "clinician")
    assert as_member(world, member["id"], "GET", "/clients")[0] == 200
    status, disabled = world.staff("POST", f"/staff/{member['id']}/disable", practice_id=p.id)
    assert status == 200 and disabled["status"] == "disabled"
    assert _user(world, member["id"])["enabled"] == "False"
    status, refused = as_member(world, member["id"], "GET", "/clients")
    assert status == 401 and refused["message"] == "this staff member is disabled", refused
    status, enabled = world.staff("POST", f"/staff/{member['id']}/enable", practice_id=p.id)
    assert status == 200 and enabled["status"] == "active"  # had signed in before
    assert _user(world, member["id"])["enabled"] == "True"
    assert as_member(world, member["id"], "GET", "/clients")[0] == 200


def test_the_last_owner_cannot_be_demoted_disabled_or_removed(world: World) -> None:
    p = scenario.create_practice(world, connect=False)
    owner = world.member(p.id, "owner")
    before = staff_items(world, p.id)
    for method, path, body in (
        ("PATCH", f"/staff/{owner.id}", {"role": "biller"}),
        ("POST", f"/staff/{owner.id}/disable", None),
        ("DELETE", f"/staff/{owner.id}", None),
    ):
        status, refused = world.staff(method, path, body, practice_id=p.id)
        assert status == 409 and "must keep an owner" in refused["message"], (method, refused)
    assert staff_items(world, p.id) == before
    # A second owner counts once they have signed in (an invitation may never be accepted): until
    # their first request the first owner still may not step down; after it, they may.
    olga = invite(world, p.id, "olga@harbor.test", "owner", name="Olga")
    status, refused = world.staff("PATCH", f"/staff/{owner.id}", {"role": "clinician"}, practice_id=p.id)
    assert status == 409 and "must keep an owner" in refused["message"], refused
    item = world.container.table.get(f"P#{p.id}", f"STAFF#{olga['id']}")
    claims = apigw.staff_claims(p.id, "owner", sub=item["sub"], email="olga@harbor.test", staff_id=olga["id"])
    assert world.staff("GET", "/practice", practice_id=p.id, claims=claims)[0] == 200  # her first request
    status, stepped = world.staff("PATCH", f"/staff/{owner.id}", {"role": "clinician"}, practice_id=p.id)
    assert status == 200 and stepped["role"] == "clinician"


def test_another_practices_staff_are_out_of_reach(world: World) -> None:
    mine = scenario.create_practice(world, connect=False)
    theirs = scenario.create_practice(world, connect=False)
    member = invite(world, theirs.id, "bea@other.test", "biller")
    before = staff_items(world, theirs.id)
    sid = member["id"]
    for method, path, body in (
        ("GET", f"/staff/{sid}", None),
        ("PATCH", f"/staff/{sid}", {"role": "owner"}),
        ("POST", f"/staff/{sid}/disable", None),
        ("POST", f"/staff/{sid}/enable", None),
        ("DELETE", f"/staff/{sid}", None),
    ):
        status, answer = world.staff(method, path, body, practice_id=mine.id)
        assert status == 404 and answer["message"] == "staff member not found", (method, path, answer)
    assert staff_items(world, theirs.id) == before
    assert sid not in [m["id"] for m in world.staff("GET", "/staff", practice_id=mine.id)[1]]
    assert _user(world, sid)["enabled"] == "True"
    # An invitation names no practice: one that tries is refused, and nothing is made anywhere.
    status, refused = world.staff(
        "POST",
        "/staff",
        {"email": "x@other.test", "name": "X", "role": "owner", "practice_id": theirs.id},
        practice_id=mine.id,
    )
    assert status == 400 and refused["details"]["problems"][0]["field"] == "practice_id", refused
    assert staff_items(world, theirs.id) == before


def test_a_duplicate_email_in_the_practice_is_a_409_that_says_nothing_of_other_practices(
    world: World,
) -> None:
    p = scenario.create_practice(world, connect=False)
    invite(world, p.id, "bea@harbor.test", "biller")
    users, before = _users(world), staff_items(world, p.id)
    status, refused = world.staff(
        "POST", "/staff", {"email": "BEA@harbor.test", "name": "Bea 2", "role": "clinician"}, practice_id=p.id
    )
    assert status == 409, refused
    assert refused["message"] == "a staff member of this practice has this email already"
    assert (_users(world), staff_items(world, p.id)) == (users, before)


@pytest.mark.parametrize(
    ("method", "suffix", "body", "field"),
    [
        ("POST", "", {"email": "not-an-email", "name": "X", "role": "biller"}, "email"),
        ("POST", "", {"email": "x@h.test", "name": "X", "role": "admin"}, "role"),
        ("POST", "", {"email": "x@h.test", "name": "X", "role": "biller", "status": "active"}, "status"),
        ("POST", "", {"email": "x@h.test", "role": "biller"}, "name"),
        ("POST", "", {"email": "x@h.test", "name": "", "role": "biller"}, "name"),
        ("PATCH", "/{sid}", {"role": "superuser"}, "role"),
        ("PATCH", "/{sid}", {"role": None}, None),
        ("PATCH", "/{sid}", {}, None),
        ("PATCH", "/{sid}", {"email": "new@h.test"}, "email"),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_written(
    world: World, method: str, suffix: str, body: dict[str, Any], field: str | None
) -> None:
    p = scenario.create_practice(world, connect=False)
    member = invite(world, p.id, "bea@harbor.test", "biller")
    users, before = _users(world), staff_items(world, p.id)
    status, refused = world.staff(method, "/staff" + suffix.format(sid=member["id"]), body, practice_id=p.id)
    assert status == 400, refused
    if field is not None:
        assert refused["details"]["problems"][0]["field"] == field, refused
    assert (_users(world), staff_items(world, p.id)) == (users, before)
    assert world.staff("GET", "/staff/not-an-id", practice_id=p.id)[0] == 400


def test_a_token_that_names_no_member_or_another_user_is_refused(world: World) -> None:
    p = scenario.create_practice(world, connect=False)
    owner = world.member(p.id, "owner")
    for claims, reason in (
        (apigw.staff_claims(p.id, "owner", sub=owner.sub or ""), "the token names no staff member"),
        (
            apigw.staff_claims(p.id, "owner", sub="someone-else", staff_id=owner.id),
            "the token's user is not this staff member",
        ),
        (
            apigw.staff_claims(scenario.new_practice_id(), "owner", sub=owner.sub or "", staff_id=owner.id),
            "the token names no staff member of this practice",
        ),
    ):
        status, refused = world.staff("GET", "/clients", practice_id=p.id, claims=claims)
        assert status == 401 and refused["message"] == reason, refused


def test_a_removed_member_hears_401_from_every_staff_operation_whatever_they_send(world: World) -> None:
    """The caller is checked before any route or validation: no operation is reached, nothing is
    written, and a malformed body or a missing header makes no difference."""
    p = scenario.create_practice(world, connect=False)
    member = invite(world, p.id, "gone@harbor.test", "owner", name="Gone")
    assert as_member(world, member["id"], "GET", "/staff")[0] == 200
    assert world.staff("DELETE", f"/staff/{member['id']}", practice_id=p.id)[0] == 204
    before = world.container.table.query_all(f"P#{p.id}")
    spec = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi-staff.json").read_text())
    operations = [
        (m.upper(), re.sub(r"\{[^}]+\}", "xx_1", path))
        for path, item in spec["paths"].items()
        for m in item
        if m in {"get", "put", "post", "patch", "delete"}
    ]
    assert len(operations) > 80
    for method, path in operations:
        status, refused = as_member(world, member["id"], method, path, {"surprise": True})
        assert status == 401 and refused["message"] == "this staff member is removed", (method, path, refused)
    assert world.container.table.query_all(f"P#{p.id}") == before


def test_invitations_are_limited_per_address_across_practices_and_per_practice(world: World) -> None:
    """Anyone can sign a practice up, so invitations are bounded: an address receives at most 3 a
    day from all practices (the 4th is 429 whoever sends it, and writes nothing), and a practice
    sends at most 30 a day."""

    practices = [scenario.create_practice(world, connect=False) for _ in range(2)]
    target = "someone@elsewhere.test"
    for n in range(INVITES_PER_ADDRESS_PER_DAY):
        practice = practices[n % 2]
        status, member = world.staff(
            "POST", "/staff", {"email": target, "name": "Sam", "role": "biller"}, practice_id=practice.id
        )
        assert status == 201, member
        assert world.staff("DELETE", f"/staff/{member['id']}", practice_id=practice.id)[0] == 204
    status, refused = world.staff(
        "POST", "/staff", {"email": target, "name": "Sam", "role": "biller"}, practice_id=practices[1].id
    )
    assert status == 429 and refused["code"] == "too_many_attempts", refused
    listed = world.staff("GET", "/staff", practice_id=practices[1].id)[1]
    assert target not in {m.get("email") for m in listed}
    practice = scenario.create_practice(world, connect=False)
    answers = [
        world.staff(
            "POST",
            "/staff",
            {"email": f"p{n}@team.test", "name": "P", "role": "biller"},
            practice_id=practice.id,
        )[0]
        for n in range(INVITES_PER_PRACTICE_PER_DAY + 1)
    ]
    assert answers == [201] * INVITES_PER_PRACTICE_PER_DAY + [429]
    world.clock.now += timedelta(days=1)  # a new day
    status, _ = world.staff(
        "POST", "/staff", {"email": "next@team.test", "name": "N", "role": "biller"}, practice_id=practice.id
    )
    assert status == 201


def test_changes_to_who_may_act_are_in_the_audit_trail_once_each(world: World) -> None:
    """Inviting, changing a role, disabling, enabling and removing a member each leave one record
    naming the member and the owner who acted; a request repeated with nothing to change, none."""
    practice = scenario.create_practice(world, connect=False)
    owner = world.member(practice.id, "owner")
    status, member = world.staff(
        "POST", "/staff", {"email": "ivy@team.test", "name": "Ivy", "role": "biller"}, practice_id=practice.id
    )
    assert status == 201, member
    path = f"/staff/{member['id']}"
    assert world.staff("PATCH", path, {"role": "front_desk"}, practice_id=practice.id)[0] == 200
    assert world.staff("POST", f"{path}/disable", practice_id=practice.id)[0] == 200
    assert world.staff("POST", f"{path}/disable", practice_id=practice.id)[0] == 200  # no change
    assert world.staff("POST", f"{path}/enable", practice_id=practice.id)[0] == 200
    assert world.staff("DELETE", path, practice_id=practice.id)[0] == 204
    status, trail = world.staff("GET", "/audit", practice_id=practice.id)
    assert status == 200, trail
    staff_records = [r for r in trail["items"] if r["action"].startswith("staff.")]
    # (the world's clock stands still, so the records share one time: compare them unordered)
    assert sorted(r["action"] for r in staff_records) == [
        "staff.change",
        "staff.disable",
        "staff.enable",
        "staff.invite",
        "staff.remove",
    ]
    assert {(r["member_id"], r["staff_id"], r["role"]) for r in staff_records} == {
        (member["id"], owner.id, "owner")
    }
    assert "ivy@team.test" not in json.dumps(trail)


def test_inviting_an_address_that_signs_in_with_another_practice_answers_as_any_invitation(
    world: World,
) -> None:
    """Cognito refuses a second user with an email another user has (moto does not check: the
    local system's check is installed on the directory's client). The inviter cannot tell: the
    same 201 and the same shape of member; only the address hears of it."""
    mine, theirs = (
        scenario.create_practice(world, connect=False),
        scenario.create_practice(world, connect=False),
    )
    invite(world, theirs.id, "sam@elsewhere.test", "clinician")
    events = world.container.staff_directory._client.meta.events  # the adapter's own client
    check = refuse_taken_email(_cognito(world))
    events.register("before-parameter-build.cognito-idp.AdminCreateUser", check)
    try:
        sent_before = len(world.emails())
        taken = invite(world, mine.id, "Sam@Elsewhere.test", "biller", name="Sam")
        fresh = invite(world, mine.id, "new@harbor.test", "biller", name="Nia")
    finally:
        events.unregister("before-parameter-build.cognito-idp.AdminCreateUser", check)
    assert set(taken) == set(fresh) and (taken["status"], taken["role"]) == ("invited", "biller")
    # One user made (the fresh address's); the taken address got one private note naming the
    # inviting practice, and nothing went to anyone else.
    notes = [email.message_from_string(m.raw_data, policy=email.policy.default) for m in world.emails()]
    to_sam = [n for n in notes[sent_before:] if "sam@elsewhere.test" in str(n["To"])]
    assert [str(n["To"]) for n in notes[sent_before:]] == ["sam@elsewhere.test"]
    body = to_sam[0].get_body(preferencelist=("plain",))
    assert body is not None and "already has a Therabill sign-in" in body.get_content()
    status, listed = world.staff("GET", "/staff", practice_id=mine.id)
    assert status == 200 and {m["email"]: m["status"] for m in listed}["sam@elsewhere.test"] == "invited"
