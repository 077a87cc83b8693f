"""The audit trail, through the staff API: reading and changing diagnoses, signatures, approvals and
money actions each leave exactly one record (a retry, none more) that names ids and the action and
never the health information; the owner reads it by client, by staff member and by date, as JSON
or CSV; nobody else does, and no practice sees another's."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import C1, SUP1, clinicians, local, service, session_on

CODES = ["F41.1", "Z63.0"]
SESSION_CODES = ["F32.A", "R69"]


def call(
    world: World,
    method: str,
    path: str,
    body: Any = None,
    *,
    practice_id: str,
    role: str = "owner",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    request_id: str | None = None,
) -> tuple[int, Any]:
    """A staff request as the practice's member with ``role`` (the harness's real staff member),
    from a known address; with ``request_id``, API Gateway's request id (the same event again)."""
    member = world.member(practice_id, role)
    event = apigw.rest_event(
        method,
        path,
        body=None if body is None else json.dumps(body),
        headers={"Content-Type": "application/json", "User-Agent": "audit-test/1.0", **(headers or {})},
        query=query,
        claims=apigw.staff_claims(
            practice_id, member.role, sub=member.sub or "", email=member.email, staff_id=member.id
        ),
        source_ip="203.0.113.9",
    )
    if request_id:
        event["requestContext"]["requestId"] = request_id
    return world.decode(world.handler("staff_api")(event, apigw.LambdaContext("staff-api")))


def _staff(world: World, practice_id: str, role: str) -> str:
    """The staff id of the practice's member with ``role`` (the actor the trail names)."""
    return world.member(practice_id, role).id


def audit_items(world: World, practice_id: str) -> list[dict[str, Any]]:
    """Every stored item of the practice's trail (the records and their index copies), raw."""
    table = world.session.client("dynamodb")
    out = table.query(
        TableName=world.resources.table_name,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"AUDIT#{practice_id}"}},
    )
    return out["Items"]


def records(world: World, practice_id: str, action: str | None = None) -> list[dict[str, Any]]:
    """The records themselves (``REC#`` items), optionally of one action."""
    recs = [i for i in audit_items(world, practice_id) if i["SK"]["S"].startswith("REC#")]
    return [r for r in recs if action is None or r["action"]["S"] == action]


def assert_no_health_information(world: World, practice_id: str, *words: str) -> None:
    stored = json.dumps(audit_items(world, practice_id))
    for word in (*CODES, *SESSION_CODES, *words):
        assert word not in stored, word


def _client_with_codes(world: World, practice: scenario.Practice, **fields: Any) -> dict[str, Any]:
    client = scenario.create_client(world, practice, first_name="Zelda", last_name="Quill", **fields)
    status, body = call(
        world, "PUT", f"/clients/{client['id']}/diagnoses", {"codes": CODES}, practice_id=practice.id
    )
    assert status == 200 and body["diagnoses"] == CODES, body
    return client


def test_reading_a_clients_diagnoses_leaves_one_record_without_them(world):
    practice = scenario.create_practice(world, connect=False)
    client = _client_with_codes(world, practice)
    plain = scenario.create_client(world, practice, email="plain@client.test")
    assert records(world, practice.id, "client.diagnoses.read") == []

    status, shown = call(world, "GET", f"/clients/{client['id']}", practice_id=practice.id)
    assert status == 200 and shown["diagnoses"] == CODES
    call(world, "GET", f"/clients/{plain['id']}", practice_id=practice.id)  # no codes: nothing read

    (read,) = records(world, practice.id, "client.diagnoses.read")
    assert read["client_id"]["S"] == client["id"]
    assert read["actor_id"]["S"] == _staff(world, practice.id, "owner") and read["actor_role"]["S"] == "owner"
    assert read["source_ip"]["S"] == "203.0.113.9" and read["user_agent"]["S"] == "audit-test/1.0"
    assert read["request_id"]["S"]
    assert int(read["expires_at_epoch"]["N"]) > int((world.clock.now + timedelta(days=390)).timestamp())
    assert_no_health_information(world, practice.id, "Zelda", "Quill")


def test_a_page_of_clients_records_a_read_for_each_client_with_codes(world):
    practice = scenario.create_practice(world, connect=False)
    first = _client_with_codes(world, practice)
    second = _client_with_codes(world, practice, email="second@client.test")
    scenario.create_client(world, practice, email="plain@client.test")
    status, page = call(world, "GET", "/clients", practice_id=practice.id)
    assert status == 200 and len(page["items"]) == 3
    reads = records(world, practice.id, "client.diagnoses.read")
    assert sorted(r["client_id"]["S"] for r in reads) == sorted([first["id"], second["id"]])


def test_the_same_request_delivered_again_records_nothing_new(world):
    practice = scenario.create_practice(world, connect=False)
    client = _client_with_codes(world, practice)
    for _ in range(2):
        status, _ = call(
            world, "GET", f"/clients/{client['id']}", practice_id=practice.id, request_id="req-same-0001"
        )
        assert status == 200
    assert len(records(world, practice.id, "client.diagnoses.read")) == 1
    call(world, "GET", f"/clients/{client['id']}", practice_id=practice.id)  # a new read is a new record
    assert len(records(world, practice.id, "client.diagnoses.read")) == 2


def test_codes_are_never_answered_without_their_record(world):
    practice = scenario.create_practice(world, connect=False)
    client = _client_with_codes(world, practice)
    world.dynamo.fail("transact_write_items")  # the record cannot be written
    status, body = call(world, "GET", f"/clients/{client['id']}", practice_id=practice.id)
    assert status == 503, body
    assert not any(code in json.dumps(body) for code in CODES)
    assert records(world, practice.id, "client.diagnoses.read") == []
    status, body = call(world, "GET", f"/clients/{client['id']}", practice_id=practice.id)
    assert status == 200 and body["diagnoses"] == CODES
    assert len(records(world, practice.id, "client.diagnoses.read")) == 1


def test_changing_diagnoses_leaves_one_record_each_without_the_codes(world):
    practice = scenario.create_practice(world, connect=False)
    client = _client_with_codes(world, practice)
    (change,) = records(world, practice.id, "client.diagnoses.change")
    assert change["client_id"]["S"] == client["id"]
    assert "session_id" not in change

    svc = service(world, practice)
    session = session_on(world, practice, client["id"], svc, local("2026-11-20", 9))
    path = f"/sessions/{session['id']}/diagnoses"
    for _ in range(2):  # the same codes again change nothing: no second record
        status, body = call(
            world, "PUT", path, {"codes": SESSION_CODES}, practice_id=practice.id, role="biller"
        )
        assert status == 200 and body["diagnoses"] == SESSION_CODES
    (session_change,) = records(world, practice.id, "session.diagnoses.change")
    assert session_change["session_id"]["S"] == session["id"]
    assert session_change["actor_role"]["S"] == "biller"

    status, _ = call(world, "GET", f"/sessions/{session['id']}", practice_id=practice.id)
    assert status == 200
    (session_read,) = records(world, practice.id, "session.diagnoses.read")
    assert session_read["session_id"]["S"] == session["id"]
    assert_no_health_information(world, practice.id)


def test_a_refused_change_records_nothing(world):
    practice = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice)
    path = f"/clients/{client['id']}/diagnoses"
    assert call(world, "PUT", path, {"codes": ["nope"]}, practice_id=practice.id)[0] == 400
    assert call(world, "PUT", path, {"codes": CODES}, practice_id=practice.id, role="front_desk")[0] == 403
    assert records(world, practice.id) == []


def _paid(world):
    practice = scenario.create_practice(world)
    client = scenario.create_client(world, practice)
    scenario.save_card(world, practice, client["id"])
    _, payment = scenario.charge(world, practice, client["id"], 2500)
    assert payment["status"] == "succeeded"
    return practice, client, payment


def test_a_refund_leaves_one_record_with_its_amount_and_a_retry_none_more(world):
    practice, client, payment = _paid(world)
    path = f"/clients/{client['id']}/payments/{payment['id']}/refunds"
    headers = {"Idempotency-Key": "refund-audit-0001"}
    for _ in range(2):
        status, refund = call(
            world,
            "POST",
            path,
            {"amount": 700, "memo": "F41.1 visit"},
            practice_id=practice.id,
            role="biller",
            headers=headers,
        )
        assert status == 201, refund
    (record,) = records(world, practice.id, "refund.create")
    assert record["amount"]["N"] == "700" and record["currency"]["S"] == "usd"
    assert record["refund_id"]["S"] == refund["id"] and record["payment_id"]["S"] == payment["id"]
    assert record["client_id"]["S"] == client["id"] and record["actor_id"]["S"] == _staff(
        world, practice.id, "biller"
    )
    (charged,) = records(world, practice.id, "charge.create")
    assert charged["payment_id"]["S"] == payment["id"] and charged["amount"]["N"] == "2500"
    assert_no_health_information(world, practice.id, "visit")


def test_a_copay_charged_at_check_in_is_recorded_once(world):
    practice = scenario.create_practice(world)
    client = scenario.create_client(world, practice, copay_amount=2500)
    scenario.save_card(world, practice, client["id"])
    start = world.clock.now + timedelta(hours=1)
    session = session_on(world, practice, client["id"], service(world, practice), start, outcome="booked")
    for _ in range(2):  # checking in again is the same step: charged once, recorded once
        status, checked = call(
            world,
            "POST",
            f"/sessions/{session['id']}/check-in",
            practice_id=practice.id,
            role="front_desk",
        )
        assert status == 200, checked
    (charged,) = records(world, practice.id, "charge.create")
    assert charged["payment_id"]["S"] == checked["copay"]["payment_id"]
    assert charged["session_id"]["S"] == session["id"] and charged["amount"]["N"] == "2500"
    assert (
        charged["actor_id"]["S"] == _staff(world, practice.id, "front_desk")
        and charged["actor_role"]["S"] == "front_desk"
    )


def test_manual_payments_and_invoice_actions_are_recorded_once(world):
    practice = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice)
    body = {"amount": 4000, "method": "cash"}
    for _ in range(2):
        status, _ = call(
            world,
            "POST",
            f"/clients/{client['id']}/payments/manual",
            body,
            practice_id=practice.id,
            headers={"Idempotency-Key": "cash-audit-0001"},
        )
        assert status == 201
    (manual,) = records(world, practice.id, "payment.manual")
    assert manual["amount"]["N"] == "4000" and manual["client_id"]["S"] == client["id"]

    lines = {
        "client_id": client["id"],
        "kind": "standalone",
        "lines": [{"description": "Workbook", "amount": 1500, "category": "product"}],
    }
    status, invoice = call(
        world,
        "POST",
        "/invoices",
        lines,
        practice_id=practice.id,
        headers={"Idempotency-Key": "invoice-audit-0001"},
    )
    assert status == 201, invoice
    (created,) = records(world, practice.id, "invoice.create")
    assert created["invoice_id"]["S"] == invoice["id"]
    for _ in range(2):
        status, voided = call(
            world, "POST", f"/invoices/{invoice['id']}/void", {"reason": "duplicate"}, practice_id=practice.id
        )
        assert status == 200, voided
    (void,) = records(world, practice.id, "invoice.void")
    assert void["invoice_id"]["S"] == invoice["id"] and void["client_id"]["S"] == client["id"]
    assert_no_health_information(world, practice.id, "duplicate", "Workbook")


def test_a_note_signature_and_an_approval_are_recorded_once(world):
    practice = scenario.create_practice(world, connect=False)
    client = scenario.create_client(world, practice)
    clinicians(world, practice.id)
    status, _ = call(
        world, "PUT", f"/clinicians/{C1}/supervision", {"supervisor_id": SUP1}, practice_id=practice.id
    )
    assert status == 200
    session = session_on(world, practice, client["id"], service(world, practice), local("2026-11-20", 9))
    for _ in range(2):
        assert (
            call(world, "POST", f"/sessions/{session['id']}/note-signature", practice_id=practice.id)[0]
            == 200
        )
        assert (
            call(world, "POST", f"/sessions/{session['id']}/supervisor-approval", practice_id=practice.id)[0]
            == 200
        )
    (signed,) = records(world, practice.id, "session.note.sign")
    (approved,) = records(world, practice.id, "session.approve")
    assert signed["session_id"]["S"] == approved["session_id"]["S"] == session["id"]


# -- reading the trail ----------------------------------------------------------------------------
def _trail(world):
    """Two clients with codes; the owner and a biller read them on two different days (records of
    one instant sort by id, so the clock moves between them)."""
    practice = scenario.create_practice(world, connect=False)
    world.clock.now = local("2026-11-20", 10)
    ann = _client_with_codes(world, practice)
    world.clock.now += timedelta(minutes=1)
    bob = _client_with_codes(world, practice, email="bob@client.test")
    world.clock.now += timedelta(minutes=1)
    call(world, "GET", f"/clients/{ann['id']}", practice_id=practice.id, role="biller")
    world.clock.now = local("2026-11-22", 23, minute=30)  # late evening in New York: the 23rd in UTC
    call(world, "GET", f"/clients/{bob['id']}", practice_id=practice.id, role="biller")
    return practice, ann, bob


def read(world, practice_id, role="owner", **query):
    return call(world, "GET", "/audit", practice_id=practice_id, role=role, query=query)


def test_the_owner_reads_the_trail_by_client_by_staff_and_by_date(world):
    practice, ann, bob = _trail(world)
    status, everything = read(world, practice.id)
    assert status == 200 and everything["next_cursor"] is None
    assert [r["action"] for r in everything["items"]] == [
        "client.diagnoses.change",
        "client.diagnoses.change",
        "client.diagnoses.read",
        "client.diagnoses.read",
    ]
    status, by_client = read(world, practice.id, client_id=ann["id"])
    assert status == 200
    assert {r["client_id"] for r in by_client["items"]} == {ann["id"]} and len(by_client["items"]) == 2
    _, by_staff = read(world, practice.id, staff_id=_staff(world, practice.id, "biller"))
    assert [(r["action"], r["client_id"], r["role"]) for r in by_staff["items"]] == [
        ("client.diagnoses.read", ann["id"], "biller"),
        ("client.diagnoses.read", bob["id"], "biller"),
    ]
    _, both = read(world, practice.id, client_id=bob["id"], staff_id=_staff(world, practice.id, "biller"))
    assert [r["client_id"] for r in both["items"]] == [bob["id"]]
    _, on_the_22nd = read(world, practice.id, **{"from": "2026-11-22", "to": "2026-11-22"})
    assert [r["client_id"] for r in on_the_22nd["items"]] == [bob["id"]]  # the practice's local day
    _, until_the_21st = read(world, practice.id, to="2026-11-21")
    assert len(until_the_21st["items"]) == 3
    _, nobody = read(world, practice.id, staff_id="stf-nobody")
    assert nobody["items"] == []


def test_the_trail_pages_with_a_cursor(world):
    practice, _, _ = _trail(world)
    seen, cursor = [], None
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        status, page = read(world, practice.id, **query)
        assert status == 200
        seen.extend(r["id"] for r in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 4
    _, first = read(world, practice.id, limit="1")  # a place on the 20th, asked of the 22nd on
    status, body = read(world, practice.id, cursor=first["next_cursor"], **{"from": "2026-11-22"})
    assert status == 400 and body["details"]["field"] == "cursor"


def test_the_trail_as_csv(world):
    practice, ann, _ = _trail(world)
    status, text = read(world, practice.id, client_id=ann["id"], format="csv")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["action"] for r in rows] == ["client.diagnoses.change", "client.diagnoses.read"]
    assert (
        rows[1]["staff_id"] == _staff(world, practice.id, "biller") and rows[1]["source_ip"] == "203.0.113.9"
    )
    assert set(rows[0]) >= {"id", "at", "staff_id", "role", "action", "client_id", "amount", "request_id"}
    assert not any(code in text for code in CODES)


def test_only_the_owner_reads_the_trail(world):
    practice, _, _ = _trail(world)
    for role in ("biller", "front_desk", "clinician"):
        status, body = read(world, practice.id, role=role)
        assert status == 403, (role, body)


def test_another_practice_never_sees_the_trail(world):
    practice, ann, _ = _trail(world)
    other = scenario.create_practice(world, connect=False, name="Elsewhere")
    for query in ({}, {"client_id": ann["id"]}, {"staff_id": _staff(world, practice.id, "biller")}):
        status, body = read(world, other.id, **query)
        assert status == 200 and body["items"] == [], query
    _, mine = read(world, practice.id, limit="1")
    status, body = read(world, other.id, cursor=mine["next_cursor"])
    assert status == 400  # a cursor of another practice's trail is not good here


def test_bad_filters_are_refused(world):
    practice, _, _ = _trail(world)
    for query in (
        {"from": "2026-11-22", "to": "2026-11-21"},
        {"from": "2026-13-01"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"client_id": "not an id"},
        {"staff_id": "a#b"},
        {"format": "xml"},
        {"limit": "0"},
        {"cursor": "bm90IGEgY3Vyc29y"},
    ):
        status, body = read(world, practice.id, **query)
        assert status == 400, (query, body)
        assert body["message"], body
