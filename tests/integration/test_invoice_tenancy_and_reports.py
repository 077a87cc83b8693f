"""Invoices and reports: another practice's token reaches nothing (404, nothing changed), bad
input is a 4xx with a reason and writes nothing, roles are enforced; the payments and revenue
reports in JSON and CSV."""

import csv
import io
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.scenario import (
    completed_session,
    create_client,
    create_invoice,
    create_practice,
    standalone_invoice,
)


@pytest.fixture
def two(world):
    a = create_practice(world)
    b = create_practice(world, connect=False)
    client = create_client(world, a)
    session = completed_session(world, a, client["id"])
    inv = standalone_invoice(world, a, client["id"], 4_000)
    return a, b, client, session, inv


def routes(inv_id, cid, ses):
    return [
        ("GET", f"/invoices/{inv_id}", None),
        ("GET", f"/invoices/{inv_id}/pdf", None),
        ("POST", f"/invoices/{inv_id}/send", None),
        ("POST", f"/invoices/{inv_id}/resend", None),
        ("POST", f"/invoices/{inv_id}/void", {}),
        ("POST", f"/invoices/{inv_id}/uncollectible", None),
        ("POST", f"/invoices/{inv_id}/request-payment-method", None),
        ("POST", f"/invoices/{inv_id}/unlock", None),
        ("POST", f"/invoices/{inv_id}/payments", {"amount": 100, "method": "cash"}),
        ("POST", "/invoices", {"client_id": cid, "kind": "session", "session_id": ses}),
        (
            "POST",
            "/invoices",
            {
                "client_id": cid,
                "kind": "standalone",
                "lines": [{"description": "x", "amount": 100, "category": "other"}],
            },
        ),
        ("GET", f"/invoices?client_id={cid}", None),
    ]


def test_another_practice_reaches_no_invoice(world, two):
    a, b, client, session, inv = two
    before = world.container.table.query_all(f"P#{a.id}")
    for method, path, body in routes(inv["id"], client["id"], session["id"]):
        route, _, qs = path.partition("?")
        query = dict([qs.split("=")]) if qs else None
        status, answer = world.staff(
            method,
            route,
            body,
            practice_id=b.id,
            query=query,
            headers={"Idempotency-Key": f"tenancy-{uuid.uuid4().hex}"},
        )
        assert status == 404, (method, path, status, answer)
    assert world.container.table.query_all(f"P#{a.id}") == before
    _, listed = world.staff("GET", "/invoices", practice_id=b.id, query={"status": "open"})
    assert listed["items"] == []
    # Reports of B see none of A's money.
    _, report = world.staff(
        "GET", "/reports/revenue", practice_id=b.id, query={"start": "2020-01-01", "end": "2020-12-31"}
    )
    assert report["charges"] == 0


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"client_id": "{cid}", "kind": "standalone"}, {}),  # no key
        ({"client_id": "{cid}", "kind": "standalone"}, {"Idempotency-Key": "bad-input-0001"}),  # no lines
        ({"client_id": "{cid}", "kind": "session"}, {"Idempotency-Key": "bad-input-0002"}),  # no session
        ({"client_id": "{cid}", "kind": "day"}, {"Idempotency-Key": "bad-input-0003"}),  # no start
        (
            {"client_id": "{cid}", "kind": "weekly", "start": "2031-01-01"},
            {"Idempotency-Key": "bad-input-0004"},
        ),
        (
            {
                "client_id": "{cid}",
                "kind": "standalone",
                "lines": [{"description": "Fee", "amount": 10.5, "category": "late_fee"}],
            },
            {"Idempotency-Key": "bad-input-0005"},
        ),
        (
            {
                "client_id": "{cid}",
                "kind": "standalone",
                "lines": [{"description": "Fee", "amount": -1, "category": "late_fee"}],
            },
            {"Idempotency-Key": "bad-input-0006"},
        ),
        (
            {
                "client_id": "{cid}",
                "kind": "standalone",
                "lines": [{"description": "Fee\nbreak", "amount": 100, "category": "late_fee"}],
            },
            {"Idempotency-Key": "bad-input-0007"},
        ),
        (
            {
                "client_id": "{cid}",
                "kind": "standalone",
                "lines": [{"description": "Fee", "amount": 100, "category": "late_fee"}],
                "due_date": "2001-01-01",
            },
            {"Idempotency-Key": "bad-input-0008"},
        ),
        (
            {
                "client_id": "{cid}",
                "kind": "standalone",
                "lines": [{"description": "Fee", "amount": 100, "category": "late_fee"}],
                "surprise": True,
            },
            {"Idempotency-Key": "bad-input-0009"},
        ),
        (
            {"client_id": "{cid}", "kind": "period", "start": "2031-02-01", "end": "2031-01-01"},
            {"Idempotency-Key": "bad-input-0010"},
        ),
        (
            {"client_id": "{cid}", "kind": "day", "start": "2031-01-01", "end": "2031-01-02"},
            {"Idempotency-Key": "bad-input-0011"},
        ),
        ("{not json", {"Idempotency-Key": "bad-input-0012"}),
    ],
)
def test_bad_invoice_input_is_a_4xx_and_writes_nothing(world, body, headers):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    if isinstance(body, dict):
        body = {k: (v.replace("{cid}", client["id"]) if isinstance(v, str) else v) for k, v in body.items()}
    before = world.container.table.query_all(f"P#{practice.id}")
    status, answer = world.staff("POST", "/invoices", body, practice_id=practice.id, headers=headers)
    assert 400 <= status < 500, (status, answer)
    assert answer["message"]
    assert world.container.table.query_all(f"P#{practice.id}") == before


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/invoices/not an id", None),
        ("/invoices", {"status": "lost"}),
        ("/invoices", {"status": "open", "limit": "0"}),
        ("/invoices", {"status": "open", "cursor": "bm90IGEgY3Vyc29y"}),
        ("/reports/payments", {"start": "2031-01-02", "end": "2031-01-01"}),
        ("/reports/payments", {"start": "2030-01-01", "end": "2031-06-01"}),
        ("/reports/payments", {"start": "yesterday", "end": "2031-01-01"}),
        ("/reports/revenue", {"start": "2031-01-01"}),
        ("/reports/revenue", {"start": "2031-01-01", "end": "2031-01-02", "format": "xml"}),
    ],
)
def test_bad_reads_are_a_400_with_a_reason(world, path, query):
    practice = create_practice(world, connect=False)
    status, answer = world.staff("GET", path, practice_id=practice.id, query=query)
    assert status in (400, 404) and answer["message"], (status, answer)


def test_nothing_to_invoice_is_a_409_and_roles_are_enforced(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    status, body = create_invoice(
        world, practice, {"client_id": client["id"], "kind": "day", "start": "2031-01-01"}
    )
    assert status == 409, body
    lines = [{"description": "Fee", "amount": 100, "category": "late_fee"}]
    status, _ = create_invoice(
        world, practice, {"client_id": client["id"], "kind": "standalone", "lines": lines}, role="clinician"
    )
    assert status == 403
    status, _ = world.staff(
        "GET",
        "/reports/payments",
        practice_id=practice.id,
        role="front_desk",
        query={"start": "2031-01-01", "end": "2031-01-01"},
    )
    assert status == 403
    assert world.container.table.query_all(f"P#{practice.id}", prefix="INV") == []


def test_a_day_invoice_bills_that_days_session_charges(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    first = completed_session(world, practice, client["id"])
    today = world.clock.now.astimezone(ZoneInfo("America/New_York")).date()
    status, inv = create_invoice(
        world,
        practice,
        {"client_id": client["id"], "kind": "day", "start": today.isoformat()},
        key="day-inv-01",
    )
    assert status == 201, inv
    assert [x["source_key"] for x in inv["lines"]] == [f"session:{first['id']}"]
    assert inv["period_start"] == inv["period_end"] == today.isoformat()
    # The next day's session is not on it, and the same charge cannot go on a period invoice.
    status, again = create_invoice(
        world,
        practice,
        {"client_id": client["id"], "kind": "period", "start": today.isoformat(), "end": today.isoformat()},
        key="period-inv-01",
    )
    assert status == 409, again


def test_a_clients_name_cannot_be_a_formula_in_the_payments_csv(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice, first_name='=HYPERLINK("http://x.test")', last_name="Doe")
    status, body = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/manual",
        {"amount": 2_500, "method": "cash"},
        practice_id=practice.id,
        headers={"Idempotency-Key": "manual-pay-formula"},
    )
    assert status == 201, body
    today = world.clock.now.astimezone(ZoneInfo("America/New_York")).date().isoformat()
    status, text = world.staff(
        "GET",
        "/reports/payments",
        practice_id=practice.id,
        query={"start": today, "end": today, "format": "csv"},
    )
    assert status == 200
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["client_name"] == '\'=HYPERLINK("http://x.test") Doe' and row["amount"] == "25.00"
    # The JSON keeps integer minor units.
    _, report = world.staff(
        "GET", "/reports/payments", practice_id=practice.id, query={"start": today, "end": today}
    )
    assert report["rows"][0]["amount"] == 2_500 and report["total"] == 2_500


def test_the_payments_and_revenue_reports(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    completed_session(world, practice, client["id"])  # a 120.00 charge
    for n, (amount, method) in enumerate([(3_000, "cash"), (2_000, "check")]):
        status, body = world.staff(
            "POST",
            f"/clients/{client['id']}/payments/manual",
            {"amount": amount, "method": method},
            practice_id=practice.id,
            headers={"Idempotency-Key": f"manual-pay-{n:04d}"},
        )
        assert status == 201, body
    inv = standalone_invoice(world, practice, client["id"], 1_500)
    world.staff("POST", f"/invoices/{inv['id']}/void", {}, practice_id=practice.id)  # charge + reversal
    today = world.clock.now.astimezone(ZoneInfo("America/New_York")).date()
    query = {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}

    status, payments = world.staff("GET", "/reports/payments", practice_id=practice.id, query=query)
    assert status == 200, payments
    assert (payments["total"], payments["count"]) == (5_000, 2)
    assert payments["by_method"] == {"cash": 3_000, "check": 2_000}

    status, revenue = world.staff("GET", "/reports/revenue", practice_id=practice.id, query=query)
    assert status == 200, revenue
    assert (revenue["charges"], revenue["adjustments"], revenue["net_revenue"]) == (13_500, 1_500, 12_000)
    assert revenue["collected"] == 5_000 and revenue["by_day"][today.isoformat()] == 12_000

    status, text = world.staff(
        "GET", "/reports/payments", practice_id=practice.id, query={**query, "format": "csv"}
    )
    assert status == 200
    # The CSVs are for spreadsheets: decimal amounts with a currency column, the client's name
    # beside its id; the revenue CSV has gross, adjustments and net a day.
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted((r["method"], r["amount"], r["currency"]) for r in rows) == [
        ("cash", "30.00", "USD"),
        ("check", "20.00", "USD"),
    ]
    assert {(r["client_id"], r["client_name"], r["date"]) for r in rows} == {
        (client["id"], "Ann Client", today.isoformat())
    }
    status, text = world.staff(
        "GET", "/reports/revenue", practice_id=practice.id, query={**query, "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["date"] for r in rows] == [query["start"], query["end"]]
    assert {k: rows[1][k] for k in ("currency", "gross", "adjustments", "net", "payments", "collected")} == {
        "currency": "USD",
        "gross": "135.00",
        "adjustments": "15.00",
        "net": "120.00",
        "payments": "50.00",
        "collected": "50.00",
    }
    assert (rows[0]["gross"], rows[0]["net"]) == ("0.00", "0.00")

    # Outside the range: nothing.
    _, empty = world.staff(
        "GET",
        "/reports/payments",
        practice_id=practice.id,
        query={"start": "2020-01-01", "end": "2020-01-31"},
    )
    assert (empty["total"], empty["rows"]) == (0, [])
