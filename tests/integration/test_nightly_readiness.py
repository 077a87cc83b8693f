"""The nightly run's documentation reasons, through the staff API: a note not signed (when the
practice bills only signed notes), a supervised clinician's session awaiting its supervisor's
approval, an insured session without a diagnosis. Each appears and disappears with the data;
tonight's listing, the evening summary and the real run agree; the run bills such a session only
once it is fixed (the next night, exactly once). Every new route: another practice gets 404 and
nothing is written, bad input is a 400 with a clear message and nothing written, roles are
enforced."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    B1,
    C1,
    C2,
    OWNER1,
    SUP1,
    SUP2,
    X1,
    Claims,
    charges,
    drain,
    fire,
    install_queue,
    insure,
    local,
    service,
)
from tests.integration.test_nightly_support import session_on as book
from therabill.core.ids import derived_id

DAY = "2026-11-20"
NEXT = "2026-11-21"


def call(
    world: World,
    method: str,
    path: str,
    body: Any = None,
    *,
    practice_id: str,
    role: str = "owner",
    sub: str = OWNER1,
) -> tuple[int, Any]:
    """A staff request as a chosen staff member (``sub``: their staff id) with a chosen role."""
    return world.staff(method, path, body, practice_id=practice_id, role=role, staff_id=sub)


@pytest.fixture
def night(world: World) -> dict[str, Any]:
    """A connected practice; Ada (card on file) and Bea (email only) pay themselves, Dee is
    insured; each had a session with clinician c1 today, all completed."""
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    bea = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    dee = scenario.create_client(world, practice, first_name="Dee", email="dee@client.test")
    insure(world, practice, dee["id"])
    sessions = {
        "a": book(world, practice, ada["id"], svc, local(DAY, 9)),
        "b": book(world, practice, bea["id"], svc, local(DAY, 10)),
        "d": book(world, practice, dee["id"], svc, local(DAY, 11)),
    }
    world.clock.now = local(DAY, 20)
    return {
        "practice": practice,
        "service": svc,
        "clients": {"a": ada, "b": bea, "d": dee},
        "sessions": sessions,
    }


def tonight(
    world: World, practice_id: str, route: str = "/nightly/tonight"
) -> dict[str, tuple[str, list[str]]]:
    """session id → (state, reasons) as the listing shows it."""
    status, listing = world.staff("GET", route, practice_id=practice_id)
    assert status == 200, listing
    out: dict[str, tuple[str, list[str]]] = {}
    for state in ("ready", "incomplete", "skipped", "held"):
        for item in listing[state]:
            out[item["session_id"]] = (state, item["reasons"])
    return out


def both(world: World, practice_id: str) -> dict[str, tuple[str, list[str]]]:
    """The listing and the evening summary, which must agree."""
    listing = tonight(world, practice_id)
    assert tonight(world, practice_id, "/nightly/summary") == listing
    return listing


def require_signed_notes(world: World, practice_id: str, on: bool = True) -> None:
    status, p = world.staff(
        "PATCH", "/practice", {"billing_requires_signed_note": on}, practice_id=practice_id
    )
    assert status == 200 and p["billing_requires_signed_note"] is on, p


def snapshot(world: World, practice_id: str) -> list[dict[str, Any]]:
    """The practice's items but its staff (the harness gives a member the role a call asks for)."""
    return [i for i in world.container.table.query_all(f"P#{practice_id}") if not i["SK"].startswith("STAFF")]


# -- 1. the signed note -----------------------------------------------------------------------------
def test_an_unsigned_note_is_a_reason_only_when_the_practice_requires_signed_notes(
    world: World, night: dict[str, Any]
) -> None:
    p, s = night["practice"], night["sessions"]
    _, practice = world.staff("GET", "/practice", practice_id=p.id)
    assert practice["billing_requires_signed_note"] is False  # existing practices are unchanged
    assert both(world, p.id)[s["a"]["id"]] == ("ready", [])
    require_signed_notes(world, p.id)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=p.id)
    item = next(i for i in listing["incomplete"] if i["session_id"] == s["a"]["id"])
    assert item["reasons"] == ["unsigned_note"] and item["reason_texts"] == ["note not signed"]
    assert both(world, p.id)[s["b"]["id"]] == ("incomplete", ["unsigned_note"])
    # The session's clinician signs; the owner signing again changes nothing (the first stands).
    world.clock.now = local(DAY, 20, minute=5)
    status, signed = call(
        world,
        "POST",
        f"/sessions/{s['a']['id']}/note-signature",
        practice_id=p.id,
        role="clinician",
        sub=C1,
    )
    assert status == 200, signed
    assert signed["note_signed_by"] == C1 and signed["note_signed_at"] is not None
    world.clock.now = local(DAY, 20, minute=9)
    status, again = call(world, "POST", f"/sessions/{s['a']['id']}/note-signature", practice_id=p.id)
    assert status == 200
    assert (again["note_signed_by"], again["note_signed_at"], again["version"]) == (
        C1,
        signed["note_signed_at"],
        signed["version"],
    )
    assert world.staff("GET", f"/sessions/{s['a']['id']}", practice_id=p.id)[1]["note_signed_by"] == C1
    states = both(world, p.id)
    assert states[s["a"]["id"]] == ("ready", []) and states[s["b"]["id"]] == ("incomplete", ["unsigned_note"])
    # Switching the requirement off: nothing waits for a note any more.
    require_signed_notes(world, p.id, on=False)
    assert both(world, p.id)[s["b"]["id"]] == ("ready", [])


def test_a_note_is_signed_once_the_session_is_completed_and_only_by_its_clinician_or_the_owner(
    world: World, night: dict[str, Any]
) -> None:
    p, s, svc, ada = night["practice"], night["sessions"], night["service"], night["clients"]["a"]
    booked = book(world, p, ada["id"], svc, local(NEXT, 9), outcome="booked")
    missed = book(world, p, ada["id"], svc, local(NEXT, 11), outcome="no_show")
    for ses in (booked, missed):
        status, body = call(world, "POST", f"/sessions/{ses['id']}/note-signature", practice_id=p.id)
        assert status == 409 and "completed" in body["message"], body
        assert world.staff("GET", f"/sessions/{ses['id']}", practice_id=p.id)[1]["note_signed_at"] is None
    before = snapshot(world, p.id)
    for role, sub in (("clinician", C2), ("biller", C1), ("front_desk", C1), ("biller", B1)):
        status, body = call(
            world, "POST", f"/sessions/{s['a']['id']}/note-signature", practice_id=p.id, role=role, sub=sub
        )
        assert status == 403, (role, sub, body)
    assert snapshot(world, p.id) == before
    status, body = call(world, "POST", f"/sessions/{s['a']['id']}/note-signature", practice_id=p.id)
    assert status == 200 and body["note_signed_by"] == OWNER1


# -- 2. the supervisor's approval -------------------------------------------------------------------
def test_a_supervised_clinicians_session_waits_for_the_supervisors_approval(
    world: World, night: dict[str, Any]
) -> None:
    p, s, svc, bea = night["practice"], night["sessions"], night["service"], night["clients"]["b"]
    other = book(world, p, bea["id"], svc, local(DAY, 14), clinician=C2)  # c2 is not supervised
    world.clock.now = local(DAY, 20)
    status, sup = world.staff(
        "PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=p.id
    )
    assert status == 200 and (sup["clinician_id"], sup["supervisor_id"]) == (C1, SUP1), sup
    assert world.staff("GET", f"/clinicians/{C1}/supervision", practice_id=p.id)[1]["supervisor_id"] == SUP1
    assert world.staff("GET", f"/clinicians/{C2}/supervision", practice_id=p.id)[0] == 404
    states = both(world, p.id)
    assert states[s["a"]["id"]] == ("incomplete", ["awaiting_supervisor_approval"])
    assert states[s["b"]["id"]] == ("incomplete", ["awaiting_supervisor_approval"])
    assert states[other["id"]] == ("ready", [])
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=p.id)
    texts = {i["session_id"]: i["reason_texts"] for i in listing["incomplete"]}
    assert texts[s["a"]["id"]] == ["awaiting supervisor approval"]
    # Only the supervisor (or the owner) approves: not the clinician, another clinician, a biller.
    before = snapshot(world, p.id)
    for role, sub in (("clinician", C1), ("clinician", SUP2), ("biller", SUP1), ("front_desk", X1)):
        status, body = call(
            world,
            "POST",
            f"/sessions/{s['a']['id']}/supervisor-approval",
            practice_id=p.id,
            role=role,
            sub=sub,
        )
        assert status == 403, (role, sub, body)
    assert snapshot(world, p.id) == before
    status, ok = call(
        world,
        "POST",
        f"/sessions/{s['a']['id']}/supervisor-approval",
        practice_id=p.id,
        role="clinician",
        sub=SUP1,
    )
    assert status == 200 and ok["supervisor_approved_by"] == SUP1, ok
    world.clock.now = local(DAY, 20, minute=3)
    status, again = call(world, "POST", f"/sessions/{s['a']['id']}/supervisor-approval", practice_id=p.id)
    assert status == 200
    assert (again["supervisor_approved_by"], again["supervisor_approved_at"], again["version"]) == (
        SUP1,
        ok["supervisor_approved_at"],
        ok["version"],
    )
    states = both(world, p.id)
    assert states[s["a"]["id"]] == ("ready", [])
    assert states[s["b"]["id"]] == ("incomplete", ["awaiting_supervisor_approval"])
    # An approval of an unsupervised clinician's session is refused: there is nothing to approve.
    status, body = call(world, "POST", f"/sessions/{other['id']}/supervisor-approval", practice_id=p.id)
    assert status == 409 and body["details"]["reason"] == "not_supervised", body
    # Ending the supervision: c1's sessions no longer wait.
    status, _ = world.staff("DELETE", f"/clinicians/{C1}/supervision", practice_id=p.id)
    assert status == 204
    assert world.staff("DELETE", f"/clinicians/{C1}/supervision", practice_id=p.id)[0] == 404
    assert both(world, p.id)[s["b"]["id"]] == ("ready", [])


def test_approval_needs_the_signed_note_first_when_the_practice_requires_it(
    world: World, night: dict[str, Any]
) -> None:
    p, s = night["practice"], night["sessions"]
    require_signed_notes(world, p.id)
    world.staff("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=p.id)
    sid = s["a"]["id"]
    assert both(world, p.id)[sid] == ("incomplete", ["unsigned_note", "awaiting_supervisor_approval"])
    before = snapshot(world, p.id)
    status, body = call(
        world, "POST", f"/sessions/{sid}/supervisor-approval", practice_id=p.id, role="clinician", sub=SUP1
    )
    assert status == 409 and body["details"]["reason"] == "note_not_signed", body
    assert snapshot(world, p.id) == before
    assert (
        call(world, "POST", f"/sessions/{sid}/note-signature", practice_id=p.id, role="clinician", sub=C1)[0]
        == 200
    )
    assert both(world, p.id)[sid] == ("incomplete", ["awaiting_supervisor_approval"])
    status, body = call(
        world, "POST", f"/sessions/{sid}/supervisor-approval", practice_id=p.id, role="clinician", sub=SUP1
    )
    assert status == 200, body
    assert both(world, p.id)[sid] == ("ready", [])


def test_supervision_reads_one_query_per_practice_not_one_per_session(
    world: World, night: dict[str, Any]
) -> None:
    p, svc, bea = night["practice"], night["service"], night["clients"]["b"]
    for n in range(4):
        clinician = derived_id("stf", "nightly-tests", f"c{n + 3}")
        book(world, p, bea["id"], svc, local(DAY, 13 + n), clinician=clinician)
        world.staff("PUT", f"/clinicians/{clinician}/supervision", {"supervisor_id": SUP1}, practice_id=p.id)
    world.clock.now = local(DAY, 20)
    nightly = world.container.nightly
    queries: list[str] = []
    table = world.container.table
    original = table.query_all

    def counting(partition: str, *, prefix: str | None = None, index: str | None = None) -> list[Any]:
        if prefix and prefix.startswith(("SUPERVISION#", "PROVIDER#")):
            queries.append(prefix)
        return original(partition, prefix=prefix, index=index)

    table.query_all = counting  # type: ignore[method-assign]
    try:
        practice = world.container.practices.get(p.id)
        facts = nightly.facts(practice, datetime.fromisoformat(DAY).date())
    finally:
        del table.query_all
    # The provider records hold the supervisors; the supervision items not migrated yet are read
    # too (one Query, empty once the practice is migrated). Per practice, never per session.
    assert queries == ["PROVIDER#", "SUPERVISION#"]
    assert sum(1 for f in facts if f.supervised) == 4  # c3..c6; c1 is not supervised here


# -- 3. the diagnosis -------------------------------------------------------------------------------
def test_an_insured_session_without_a_diagnosis_is_incomplete(world: World, night: dict[str, Any]) -> None:
    p, s, c = night["practice"], night["sessions"], night["clients"]
    claims = Claims()
    world.container.nightly.claims = claims
    states = both(world, p.id)
    assert states[s["d"]["id"]] == ("incomplete", ["missing_diagnosis"])
    assert states[s["a"]["id"]] == ("ready", [])  # cash pay: no diagnosis needed
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=p.id)
    item = next(i for i in listing["incomplete"] if i["session_id"] == s["d"]["id"])
    assert item["reason_texts"] == ["missing diagnosis"] and item["action"] == "claim"
    # The client's codes: normalised (upper case, the dot), in pointer order.
    status, client = call(
        world,
        "PUT",
        f"/clients/{c['d']['id']}/diagnoses",
        {"codes": ["f411", "Z63.0"]},
        practice_id=p.id,
        role="clinician",
        sub=C1,
    )
    assert status == 200 and client["diagnoses"] == ["F41.1", "Z63.0"], client
    assert world.staff("GET", f"/clients/{c['d']['id']}", practice_id=p.id)[1]["diagnoses"] == [
        "F41.1",
        "Z63.0",
    ]
    assert both(world, p.id)[s["d"]["id"]] == ("ready", [])
    # Cleared: missing again.
    status, client = world.staff(
        "PUT", f"/clients/{c['d']['id']}/diagnoses", {"codes": []}, practice_id=p.id, role="biller"
    )
    assert status == 200 and client["diagnoses"] == []
    assert both(world, p.id)[s["d"]["id"]] == ("incomplete", ["missing_diagnosis"])
    # The session's own codes are enough (and shown on the session); removing them falls back.
    status, ses = world.staff(
        "PUT", f"/sessions/{s['d']['id']}/diagnoses", {"codes": ["F32.A", "r69"]}, practice_id=p.id
    )
    assert status == 200 and ses["diagnoses"] == ["F32.A", "R69"], ses
    assert world.staff("GET", f"/sessions/{s['d']['id']}", practice_id=p.id)[1]["diagnoses"] == [
        "F32.A",
        "R69",
    ]
    assert both(world, p.id)[s["d"]["id"]] == ("ready", [])
    status, ses = world.staff("PUT", f"/sessions/{s['d']['id']}/diagnoses", {"codes": []}, practice_id=p.id)
    assert status == 200 and ses["diagnoses"] is None
    assert both(world, p.id)[s["d"]["id"]] == ("incomplete", ["missing_diagnosis"])


def test_every_reason_that_holds_is_listed(world: World, night: dict[str, Any]) -> None:
    p, s = night["practice"], night["sessions"]
    require_signed_notes(world, p.id)
    world.staff("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=p.id)
    states = both(world, p.id)
    assert states[s["d"]["id"]] == (
        "incomplete",
        ["claims_not_set_up", "missing_diagnosis", "unsigned_note", "awaiting_supervisor_approval"],
    )
    assert states[s["a"]["id"]] == ("incomplete", ["unsigned_note", "awaiting_supervisor_approval"])
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=p.id)
    assert listing["totals"]["incomplete"] == 3 and listing["totals"]["ready"] == 0
    # Fixed one by one, the reasons go one by one.
    sid = s["a"]["id"]
    call(world, "POST", f"/sessions/{sid}/note-signature", practice_id=p.id, role="clinician", sub=C1)
    assert both(world, p.id)[sid] == ("incomplete", ["awaiting_supervisor_approval"])
    call(world, "POST", f"/sessions/{sid}/supervisor-approval", practice_id=p.id, role="clinician", sub=SUP1)
    assert both(world, p.id)[sid] == ("ready", [])


# -- 4. the real run -------------------------------------------------------------------------------
def test_the_run_bills_an_unsigned_session_only_after_signing_and_then_once(
    world: World, night: dict[str, Any]
) -> None:
    p, s = night["practice"], night["sessions"]
    require_signed_notes(world, p.id)
    call(
        world,
        "POST",
        f"/sessions/{s['b']['id']}/note-signature",
        practice_id=p.id,
        role="clinician",
        sub=C1,
    )
    world.clock.now = local(DAY, 20)
    _, summary = world.staff("GET", "/nightly/summary", practice_id=p.id)
    before = charges(world)
    fire(world, p.id, local(DAY, 23))
    drain(world)
    status, run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)
    assert status == 200 and run["status"] == "done", run
    outcomes = {i["session_id"]: i["outcome"] for i in run["items"]}
    assert outcomes == {s["b"]["id"]: "sent"}  # Ada's unsigned session is not billed tonight
    assert {i["session_id"] for i in summary["ready"]} == set(outcomes)  # the summary said so
    assert run["report"]["incomplete"] == 2  # Ada (note), Dee (insurance, diagnosis, note)
    assert charges(world) == before
    _, ada = world.staff("GET", f"/sessions/{s['a']['id']}", practice_id=p.id)
    assert ada["note_signed_at"] is None
    # Signed the next day: the next night charges Ada once.
    world.clock.now = local(NEXT, 10)
    status, _ = call(
        world,
        "POST",
        f"/sessions/{s['a']['id']}/note-signature",
        practice_id=p.id,
        role="clinician",
        sub=C1,
    )
    assert status == 200
    fire(world, p.id, local(NEXT, 23))
    drain(world)
    fire(world, p.id, local(NEXT, 23, minute=10))  # a second firing changes nothing
    drain(world)
    run = world.staff("GET", f"/billing-runs/{NEXT}", practice_id=p.id)[1]
    assert {i["session_id"]: i["outcome"] for i in run["items"]} == {s["a"]["id"]: "charged"}
    assert charges(world) == before + 1
    # And never again.
    fire(world, p.id, local("2026-11-22", 23))
    drain(world)
    later = world.staff("GET", "/billing-runs/2026-11-22", practice_id=p.id)[1]
    assert later["planned"] == 0 and charges(world) == before + 1


def test_the_run_waits_for_the_supervisor_and_the_diagnosis(world: World, night: dict[str, Any]) -> None:
    p, s, c = night["practice"], night["sessions"], night["clients"]
    claims = Claims()
    world.container.nightly.claims = claims
    world.staff("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=p.id)
    fire(world, p.id, local(DAY, 23))
    drain(world)
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[1]
    assert run["planned"] == 0 and run["report"]["incomplete"] == 3 and claims.submitted == []
    world.clock.now = local(NEXT, 9)
    world.staff("PUT", f"/clients/{c['d']['id']}/diagnoses", {"codes": ["F41.1"]}, practice_id=p.id)
    for key in ("a", "d"):
        status, _ = call(
            world,
            "POST",
            f"/sessions/{s[key]['id']}/supervisor-approval",
            practice_id=p.id,
            role="clinician",
            sub=SUP1,
        )
        assert status == 200
    before = charges(world)
    fire(world, p.id, local(NEXT, 23))
    drain(world)
    run = world.staff("GET", f"/billing-runs/{NEXT}", practice_id=p.id)[1]
    outcomes = {i["session_id"]: i["outcome"] for i in run["items"]}
    assert outcomes == {s["a"]["id"]: "charged", s["d"]["id"]: "claimed"}
    assert claims.submitted == [s["d"]["id"]] and charges(world) == before + 1
    assert run["report"]["incomplete"] == 1  # Bea still waits for the supervisor


# -- 5. tenancy, bad input, roles ------------------------------------------------------------------
def test_another_practice_reaches_nothing_and_writes_nothing(world: World, night: dict[str, Any]) -> None:
    p, s, c = night["practice"], night["sessions"], night["clients"]
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    world.staff("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=p.id)
    before = snapshot(world, p.id)
    for method, path, body in (
        ("POST", f"/sessions/{s['a']['id']}/note-signature", None),
        ("POST", f"/sessions/{s['a']['id']}/supervisor-approval", None),
        ("PUT", f"/sessions/{s['a']['id']}/diagnoses", {"codes": ["F41.1"]}),
        ("PUT", f"/clients/{c['d']['id']}/diagnoses", {"codes": ["F41.1"]}),
        ("GET", f"/clinicians/{C1}/supervision", None),
        ("DELETE", f"/clinicians/{C1}/supervision", None),
    ):
        status, out = call(world, method, path, body, practice_id=other.id)
        assert status == 404, (method, path, out)
    # My clinician is no staff member of the other practice: refused there (naming no practice),
    # and mine is untouched.
    status, out = call(
        world, "PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": "evil"}, practice_id=other.id
    )
    assert status == 400 and out["message"] == "clinician_id names no staff member of this practice", out
    assert snapshot(world, p.id) == before
    assert world.staff("GET", f"/clinicians/{C1}/supervision", practice_id=p.id)[1]["supervisor_id"] == SUP1


# One night for every case (each writes nothing, which each checks): a case is a subtest.
BAD_INPUT = [
    (
        "PUT",
        "/clients/{client}/diagnoses",
        {"codes": ["F41.1"] * 1 + [f"F4{n}" for n in range(12)]},
        "at most 12",
    ),
    (
        "PUT",
        "/clients/{client}/diagnoses",
        {"codes": ["F41.1", "123"]},
        "codes[1] is not an ICD-10-CM code",
    ),
    ("PUT", "/clients/{client}/diagnoses", {"codes": ["F41.1", "f411"]}, "codes[1] repeats codes[0]"),
    ("PUT", "/clients/{client}/diagnoses", {"codes": ["F41."]}, "not an ICD-10-CM code"),
    ("PUT", "/clients/{client}/diagnoses", {"codes": ["F41.12345"]}, "not an ICD-10-CM code"),
    ("PUT", "/clients/{client}/diagnoses", {"codes": "F41.1"}, "codes"),
    ("PUT", "/clients/{client}/diagnoses", {"codes": ["F41.1"], "note": "x"}, "note"),
    ("PUT", "/clients/{client}/diagnoses", {}, "codes"),
    ("PUT", "/sessions/{session}/diagnoses", {"codes": ["1F4.1"]}, "not an ICD-10-CM code"),
    ("PUT", "/sessions/{session}/diagnoses", {"codes": ["F41.1", "F41.1"]}, "repeats"),
    ("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": C1}, "cannot supervise themself"),
    ("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": "not a user!"}, "supervisor_id"),
    ("PUT", f"/clinicians/{C1}/supervision", {}, "supervisor_id"),
    ("PATCH", "/practice", {"billing_requires_signed_note": "yes"}, "billing_requires_signed_note"),
    ("PATCH", "/practice", {"billing_requires_signed_note": None}, "cannot be null"),
]


def test_bad_input_is_a_400_with_a_clear_message_and_writes_nothing(
    world: World, night: dict[str, Any], subtests: Any
) -> None:
    p = night["practice"]
    for method, template, body, words in BAD_INPUT:
        with subtests.test(method=method, path=template, words=words):
            path = template.format(client=night["clients"]["d"]["id"], session=night["sessions"]["d"]["id"])
            before = snapshot(world, p.id)
            status, out = world.staff(method, path, body, practice_id=p.id)
            assert status == 400, out
            assert words in out["message"] or words in json.dumps(out["details"]), out
            assert "F41" not in out["message"] and "f411" not in out["message"]  # a code is never echoed
            assert snapshot(world, p.id) == before


ROLES = [
    ("PUT", "/clients/{client}/diagnoses", {"codes": ["F41.1"]}, "front_desk"),
    ("PUT", "/sessions/{session}/diagnoses", {"codes": ["F41.1"]}, "front_desk"),
    ("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, "clinician"),
    ("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, "biller"),
    ("DELETE", f"/clinicians/{C1}/supervision", None, "biller"),
    ("PATCH", "/practice", {"billing_requires_signed_note": True}, "biller"),
    ("POST", "/sessions/{session}/note-signature", None, "biller"),
    ("POST", "/sessions/{session}/supervisor-approval", None, "clinician"),
]


def test_roles_are_enforced(world: World, night: dict[str, Any], subtests: Any) -> None:
    p = night["practice"]
    world.staff("PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=p.id)
    for method, template, body, role in ROLES:
        with subtests.test(method=method, path=template, role=role):
            path = template.format(client=night["clients"]["d"]["id"], session=night["sessions"]["d"]["id"])
            before = snapshot(world, p.id)
            status, out = call(world, method, path, body, practice_id=p.id, role=role, sub=C1)
            assert status == 403, out
            assert snapshot(world, p.id) == before
