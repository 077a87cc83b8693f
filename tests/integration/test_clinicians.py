"""Clinicians are staff: a session and a supervision name clinicians (or owners) of the practice
who are not removed, by staff id; a member who never signs in (no email, no user) and their later
invitation; the migration of free-string clinicians through the real table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_socket import disable_socket
from scripts import migrate_clinicians, operator_tasks

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import AwsClients, World, open_world
from tests.integration.test_nightly_schedules import ROLE, TARGET
from tests.integration.test_services_pricing import create_service
from tests.integration.test_staff_people import _user, _users, as_member
from therabill import wiring
from therabill.adapters.scheduler import NightlySchedules
from therabill.core.ids import new_id
from therabill.providers.models import Supervision
from therabill.providers.store.clinicians import supervision_item
from therabill.sessions.clinicians import staff_id_for
from therabill.sessions.models import Session
from therabill.sessions.store import SessionStore

START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)
UNKNOWN = "clinician_id names no staff member of this practice"


def _table(world: World, practice_id: str) -> list[dict[str, Any]]:
    return world.container.table.query_all(f"P#{practice_id}")


def _book(world: World, practice: scenario.Practice, clinician_id: str, **over: Any) -> tuple[int, Any]:
    body = {
        "client_id": over.pop("client_id"),
        "service_id": over.pop("service_id"),
        "clinician_id": clinician_id,
        "scheduled_start": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return world.staff(
        "POST", "/sessions", body, practice_id=practice.id, headers=scenario.booking_key(), **over
    )


@pytest.fixture
def setup(world: World) -> tuple[scenario.Practice, dict[str, Any], dict[str, Any]]:
    practice = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice)
    return practice, client, create_service(world, practice)


def test_a_session_names_a_clinician_or_owner_of_the_practice(world: World, setup: Any) -> None:
    practice, client, svc = setup
    ids = {"client_id": client["id"], "service_id": svc["id"]}
    status, session = _book(world, practice, scenario.clinician(world, practice), **ids)
    assert status == 201 and session["clinician_id"] == world.member(practice.id, "clinician").id, session
    status, session = _book(world, practice, world.member(practice.id, "owner").id, **ids)
    assert status == 201, session  # an owner who treats


def test_a_session_naming_no_clinician_of_the_practice_is_refused_and_writes_nothing(
    world: World, setup: Any
) -> None:
    practice, client, svc = setup
    ids = {"client_id": client["id"], "service_id": svc["id"]}
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    theirs = scenario.clinician(world, other)
    status, removed = world.staff("POST", "/staff", _no_sign_in("Rae"), practice_id=practice.id)
    assert status == 201, removed
    assert world.staff("DELETE", f"/staff/{removed['id']}", practice_id=practice.id)[0] == 204
    before = _table(world, practice.id)
    cases = [
        ("c1", UNKNOWN),  # a free string
        (new_id("stf"), UNKNOWN),
        (theirs, UNKNOWN),  # another practice's clinician: named as unknown, no practice named
        (
            world.member(practice.id, "biller").id,
            "clinician_id names a staff member who is not a clinician or owner",
        ),
        (removed["id"], "clinician_id names a removed staff member"),
    ]
    for clinician_id, reason in cases:
        status, refused = _book(world, practice, clinician_id, **ids)
        assert status == 400, (clinician_id, refused)
        assert refused["message"] == reason and refused["details"]["field"] == "clinician_id", refused
        assert other.id not in str(refused)
    assert _table(world, practice.id) == before


def test_the_clinician_check_is_one_batch_read_never_a_query_of_the_staff(world: World, setup: Any) -> None:
    practice, client, svc = setup
    table = world.container.table
    batches: list[int] = []
    queries: list[str | None] = []
    original_many, original_query = table.get_many, table.query_all

    def many(keys: Any, **kw: Any) -> Any:
        if any(sk.startswith("STAFF#") for _, sk in keys):
            batches.append(len(keys))
        return original_many(keys, **kw)

    def query(partition: str, **kw: Any) -> Any:
        queries.append(kw.get("prefix"))
        return original_query(partition, **kw)

    clinician, supervisor = scenario.clinician(world, practice), world.member(practice.id, "owner").id
    table.get_many, table.query_all = many, query  # type: ignore[method-assign]
    try:
        status, _ = _book(world, practice, clinician, client_id=client["id"], service_id=svc["id"])
        assert status == 201
        status, _ = world.staff(
            "PUT",
            f"/clinicians/{clinician}/supervision",
            {"supervisor_id": supervisor},
            practice_id=practice.id,
        )
        assert status == 200
    finally:
        del table.get_many, table.query_all
    assert batches == [1, 2]  # the session's clinician; the clinician and the supervisor together
    assert not [q for q in queries if q and q.startswith("STAFF")]


def test_supervision_names_two_clinicians_of_the_practice(world: World, setup: Any) -> None:
    practice, _, _ = setup
    clinician = scenario.clinician(world, practice)
    owner = world.member(practice.id, "owner").id
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    theirs = scenario.clinician(world, other)
    before = _table(world, practice.id)
    refusals = [
        (clinician, clinician, "supervisor_id", "a clinician cannot supervise themself"),
        (clinician, "sup-x", "supervisor_id", "supervisor_id names no staff member of this practice"),
        (clinician, theirs, "supervisor_id", "supervisor_id names no staff member of this practice"),
        (
            clinician,
            world.member(practice.id, "front_desk").id,
            "supervisor_id",
            "supervisor_id names a staff member who is not a clinician or owner",
        ),
        (theirs, owner, "clinician_id", UNKNOWN),
        ("c1", owner, "clinician_id", UNKNOWN),
    ]
    for who, supervisor, field, reason in refusals:
        status, refused = world.staff(
            "PUT", f"/clinicians/{who}/supervision", {"supervisor_id": supervisor}, practice_id=practice.id
        )
        assert status == 400 and refused["details"]["field"] == field, (who, supervisor, refused)
        assert refused["message"] == reason and other.id not in str(refused), refused
    assert _table(world, practice.id) == before
    status, sup = world.staff(
        "PUT", f"/clinicians/{clinician}/supervision", {"supervisor_id": owner}, practice_id=practice.id
    )
    assert status == 200 and (sup["clinician_id"], sup["supervisor_id"]) == (clinician, owner), sup


# -- members who never sign in ------------------------------------------------------------------------
def _no_sign_in(name: str, **over: Any) -> dict[str, Any]:
    return {"name": name, "role": "clinician", "sign_in": False, **over}


def test_a_clinician_who_never_signs_in_is_a_member_with_no_user(world: World, setup: Any) -> None:
    practice, client, svc = setup
    users = _users(world)
    status, member = world.staff("POST", "/staff", _no_sign_in(" Dr Rae "), practice_id=practice.id)
    assert status == 201, member
    assert (member["name"], member["email"], member["status"], member["sign_in"]) == (
        "Dr Rae",
        None,
        "active",
        False,
    )
    assert _users(world) == users  # no user in the directory, no invitation
    assert member["id"] in [m["id"] for m in world.staff("GET", "/staff", practice_id=practice.id)[1]]
    # Sessions may name them; no token can (the item has no user, so no sub matches).
    status, session = _book(world, practice, member["id"], client_id=client["id"], service_id=svc["id"])
    assert status == 201 and session["clinician_id"] == member["id"], session
    claims = apigw.staff_claims(
        practice.id, "clinician", sub="any-sub", email="rae@x.test", staff_id=member["id"]
    )
    status, refused = world.staff("GET", "/clients", practice_id=practice.id, claims=claims)
    assert status == 401, refused
    # Disabled and enabled again, they are active again (never invited).
    assert (
        world.staff("POST", f"/staff/{member['id']}/disable", practice_id=practice.id)[1]["status"]
        == "disabled"
    )
    assert (
        world.staff("POST", f"/staff/{member['id']}/enable", practice_id=practice.id)[1]["status"] == "active"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "role": "clinician"}, "email is required"),
        (_no_sign_in("X", email="x@harbor.test"), "has no email"),
        ({"name": "X", "role": "clinician", "sign_in": True}, "email is required"),
        (_no_sign_in("X", role="owner"), "an owner must sign in"),
    ],
)
def test_a_member_with_no_sign_in_is_never_an_owner_nor_has_an_email(
    world: World, setup: Any, body: dict[str, Any], field: str
) -> None:
    practice, _, _ = setup
    before = _table(world, practice.id)
    status, refused = world.staff("POST", "/staff", body, practice_id=practice.id)
    assert status == 400 and field in refused["message"], refused
    assert _table(world, practice.id) == before


def test_a_member_with_no_sign_in_is_invited_later(world: World, setup: Any) -> None:
    practice, _, _ = setup
    _, member = world.staff("POST", "/staff", _no_sign_in("Dr Rae"), practice_id=practice.id)
    sid = member["id"]
    # Not an owner before they can sign in.
    status, refused = world.staff("PATCH", f"/staff/{sid}", {"role": "owner"}, practice_id=practice.id)
    assert status == 400 and "invite them by email first" in refused["message"], refused
    # An email another member has: 409, nothing changed.
    taken = world.member(practice.id, "biller").email
    before = _table(world, practice.id)
    status, refused = world.staff(
        "POST", f"/staff/{sid}/invitation", {"email": taken}, practice_id=practice.id
    )
    assert status == 409, refused
    assert _table(world, practice.id) == before
    status, invited = world.staff(
        "POST", f"/staff/{sid}/invitation", {"email": " Rae@Harbor.TEST "}, practice_id=practice.id
    )
    assert status == 200, invited
    assert (invited["email"], invited["status"], invited["sign_in"], invited["role"]) == (
        "rae@harbor.test",
        "invited",
        True,
        "clinician",
    )
    assert _user(world, sid)["custom:staff_id"] == sid
    # They sign in and work; a second invitation is refused.
    assert as_member(world, sid, "GET", "/clients")[0] == 200
    assert world.staff("GET", f"/staff/{sid}", practice_id=practice.id)[1]["status"] == "active"
    status, refused = world.staff(
        "POST", f"/staff/{sid}/invitation", {"email": "r@h.test"}, practice_id=practice.id
    )
    assert status == 409, refused
    # Another practice cannot invite them.
    other = scenario.create_practice(world, connect=False)
    assert (
        world.staff("POST", f"/staff/{sid}/invitation", {"email": "z@h.test"}, practice_id=other.id)[0] == 404
    )


# -- the migration of free-string clinicians ---------------------------------------------------------
def _old_session(client_id: str, service_id: str, clinician_id: str, hours: int) -> Session:
    start = START + timedelta(hours=hours)
    return Session.model_validate(
        {
            "id": new_id("ses"),
            "client_id": client_id,
            "service_id": service_id,
            "clinician_id": clinician_id,
            "scheduled_start": start,
            "scheduled_end": start + timedelta(minutes=50),
            "status": "booked",
            "created_at": START,
            "created_by": "owner",
            "updated_at": START,
            "version": 1,
        }
    )


def test_free_string_clinicians_are_migrated_once(world: World, setup: Any) -> None:
    practice, client, svc = setup
    real = scenario.clinician(world, practice)
    sessions, table = SessionStore(world.container.table), world.container.table
    old = [
        _old_session(client["id"], svc["id"], name, n) for n, name in enumerate(["c1", "Dr Ada", "c1", real])
    ]
    for s in old:
        sessions.create(practice.id, s)
    # Supervision items from before provider records held the supervisor.
    for clinician, supervisor in (("c1", "sup-x"), (real, "Dr Ada")):
        legacy = Supervision(
            clinician_id=clinician, supervisor_id=supervisor, updated_at=START, updated_by="o"
        )
        table.put(supervision_item(practice.id, legacy))
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    other_client = scenario.create_client(world, other)
    sessions.create(other.id, _old_session(other_client["id"], "svc_x", "c1", 0))

    migration = world.container.clinician_migration
    done = migration.migrate(practice.id)
    ids = {name: staff_id_for(practice.id, name) for name in ("c1", "Dr Ada", "sup-x")}
    assert done.clinicians == ids and (done.sessions, done.supervisions) == (3, 2)
    _, listing = world.staff("GET", "/staff", practice_id=practice.id)
    made = {m["name"]: m for m in listing if m["id"] in ids.values()}
    assert {n: (m["id"], m["role"], m["status"], m["sign_in"]) for n, m in made.items()} == {
        n: (i, "clinician", "active", False) for n, i in ids.items()
    }
    named = [world.staff("GET", f"/sessions/{s.id}", practice_id=practice.id)[1]["clinician_id"] for s in old]
    assert named == [ids["c1"], ids["Dr Ada"], ids["c1"], real]
    supervisors = world.container.providers.clinicians.roster(practice.id).supervisors
    assert supervisors == {ids["c1"]: ids["sup-x"], real: ids["Dr Ada"]}
    status, sup = world.staff("GET", f"/clinicians/{ids['c1']}/supervision", practice_id=practice.id)
    assert status == 200 and sup["updated_by"] == "o", sup
    # The other practice is untouched until its own run (and then gets its own member).
    assert sessions.of_practice(other.id)[0].clinician_id == "c1"

    # A second run changes nothing.
    before = _table(world, practice.id)
    again = migration.migrate(practice.id)
    assert (again.clinicians, again.sessions, again.supervisions) == ({}, 0, 0)
    assert _table(world, practice.id) == before

    # A run that stopped half way (a session still naming its string): the same member, that
    # session alone rewritten.
    left = old[2]
    world.container.table.update(
        f"P#{practice.id}",
        f"SESSION#{left.client_id}#{left.id}",
        update="SET clinician_id = :c",
        values={":c": "c1"},
    )
    resumed = migration.migrate(practice.id)
    assert (resumed.clinicians, resumed.sessions, resumed.supervisions) == ({"c1": ids["c1"]}, 1, 0)
    assert len(world.staff("GET", "/staff", practice_id=practice.id)[1]) == len(listing)
    assert world.staff("GET", f"/sessions/{left.id}", practice_id=practice.id)[1]["clinician_id"] == ids["c1"]

    mine_then_theirs = migration.run([practice.id, other.id])
    assert [m.clinicians for m in mine_then_theirs] == [{}, {"c1": staff_id_for(other.id, "c1")}]
    assert staff_id_for(other.id, "c1") != ids["c1"]


@pytest.fixture
def scheduled(aws_clients: AwsClients) -> Iterator[World]:
    """The world with the scheduler configured (every practice gets its nightly schedules)."""
    disable_socket(allow_unix_socket=True)
    with open_world(scheduler=(TARGET, ROLE), clients=aws_clients) as w:
        yield w


def test_the_operator_migrates_every_practice_with_a_nightly_schedule(scheduled: World) -> None:
    world = scheduled
    practices = [scenario.create_practice(world, connect=False, name=f"Practice {n}") for n in range(2)]
    sessions = SessionStore(world.container.table)
    for p in practices:
        client = scenario.create_client(world, p)
        sessions.create(p.id, _old_session(client["id"], "svc_x", "Dr Ada", 0))
    schedules = world.container.nightly_schedules
    assert isinstance(schedules, NightlySchedules)
    found = schedules.practice_ids()
    assert sorted(found) == sorted(p.id for p in practices)  # each once, the DST guard not twice
    done = world.container.clinician_migration.run(found)
    assert sorted(d.sessions for d in done) == [1, 1]
    for p in practices:
        assert [s.clinician_id for s in sessions.of_practice(p.id)] == [staff_id_for(p.id, "Dr Ada")]


def test_the_script_migrates_the_practices_it_is_given(
    world: World, setup: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    practice, client, svc = setup
    SessionStore(world.container.table).create(practice.id, _old_session(client["id"], svc["id"], "c9", 0))
    monkeypatch.setattr(operator_tasks, "local_environment", lambda _path: {})
    monkeypatch.setattr(wiring, "container", lambda: world.container)
    with pytest.raises(SystemExit, match="name the practices with --practice"):  # no scheduler here
        migrate_clinicians.main(["--local"])
    assert migrate_clinicians.main(["--local", "--practice", practice.id]) == 0
    out = capsys.readouterr().out
    assert f"{practice.id}: clinicians 'c9' -> {staff_id_for(practice.id, 'c9')}; 1 session(s)" in out
    assert migrate_clinicians.main(["--local", "--practice", practice.id]) == 0
    assert (
        f"{practice.id}: clinicians none; 0 session(s) and 0 supervision item(s)" in capsys.readouterr().out
    )
