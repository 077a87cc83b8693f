"""Session money through the staff API: the completed session's charge on the ledger (once), the
copay at check-in, and cancellation / no-show fees by policy."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.scenario import create_client, create_practice
from tests.integration.test_services_pricing import create_service
from tests.integration.test_sessions import act, book, completion

START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)


def ledger(world, practice, client_id):
    status, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, body
    return body


def balances(body):
    """The ledger balances: the balance is charges (and refunds) less payments and adjustments."""
    total = sum(e["signed_amount"] for e in body["entries"])
    assert total == body["balance"]
    return body["balance"]


def sources(body, kind):
    return sorted(e["amount"] for e in body["entries"] if e["kind"] == kind)


@pytest.fixture
def setup(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    return practice, client, svc


def test_completing_posts_the_session_charge_once(world, setup):
    practice, client, svc = setup
    session = book(world, practice, client, svc)
    act(world, practice, session["id"], "check-in")
    status, done = act(world, practice, session["id"], "complete", completion())
    assert status == 200 and done["price"]["amount"] == 16_500
    assert act(world, practice, session["id"], "complete", completion()) == (200, done)
    body = ledger(world, practice, client["id"])
    assert sources(body, "charge") == [16_500] and balances(body) == 16_500


def test_a_not_billed_session_posts_nothing(world, setup):
    practice, client, svc = setup
    path = f"/clients/{client['id']}/pricing/{svc['id']}"
    world.staff("PUT", path, {"kind": "fixed", "amount": 0}, practice_id=practice.id)
    session = book(world, practice, client, svc)
    act(world, practice, session["id"], "check-in")
    _, done = act(world, practice, session["id"], "complete", completion())
    assert done["price"]["not_billed"] is True
    assert ledger(world, practice, client["id"])["entries"] == []


