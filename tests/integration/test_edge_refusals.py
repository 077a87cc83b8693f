"""Requests the staff API refuses with a reason, writing nothing: a set-up link whose consent has
already expired or that no card could be saved through yet, and a session completed before it
has ended."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.integration.conftest import World
from tests.integration.scenario import (
    Practice,
    booking_key,
    clinician,
    create_client,
    create_practice,
    setup_link,
    standalone_invoice,
)


def snapshot(world: World, practice_id: str) -> list[dict[str, Any]]:
    return world.container.table.query_all(f"P#{practice_id}")


def z(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def link_request(world: World, practice: Practice, client_id: str, **scope: Any) -> tuple[int, Any]:
    body = {"scope": {"kinds": ["copay"], **scope}}
    return world.staff("POST", f"/clients/{client_id}/setup-links", body, practice_id=practice.id)


# -- set-up links ----------------------------------------------------------------------------------
def test_a_set_up_link_whose_consent_has_already_expired_is_refused(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    before = snapshot(world, practice.id)
    for expired in (world.clock() - timedelta(days=1), world.clock()):
        status, body = link_request(world, practice, client["id"], expires_at=z(expired))
        assert status == 400, body
        assert body["details"]["field"] == "scope.expires_at" and "future" in body["message"], body
    assert snapshot(world, practice.id) == before
    # A consent that expires tomorrow is fine, and its page opens.
    status, link = link_request(
        world, practice, client["id"], expires_at=z(world.clock() + timedelta(days=1))
    )
    assert status == 201, link
    assert world.public("GET", "/setup/" + link["url"].split("/setup/")[1])[0] == 200


def test_a_set_up_link_waits_until_the_practice_can_take_cards(world: World) -> None:
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    before = snapshot(world, practice.id)
    status, body = link_request(world, practice, client["id"])
    assert status == 409 and "connect Stripe first" in body["message"], body
    assert snapshot(world, practice.id) == before
    # Connected, but the account cannot take charges yet (onboarding unfinished): still refused.
    status, _ = world.staff(
        "POST",
        "/practice/stripe/connect",
        {"refresh_url": "https://app.test/refresh", "return_url": "https://app.test/done"},
        practice_id=practice.id,
    )
    assert status == 200
    _, stripe_state = world.staff("GET", "/practice", practice_id=practice.id)
    assert stripe_state["stripe"]["charges_enabled"] is False
    before = snapshot(world, practice.id)
    status, body = link_request(world, practice, client["id"])
    assert status == 409 and "connect Stripe first" in body["message"], body
    assert snapshot(world, practice.id) == before
    # Once Stripe says the account takes charges, the link is issued.
    since = len(world.stripe.events)
    world.stripe.complete_onboarding(stripe_state["stripe"]["account_id"])
    world.deliver_stripe_events(since=since)
    assert setup_link(world, Practice(practice.id, stripe_state["stripe"]["account_id"]), client["id"])


def test_an_invoice_asks_for_no_card_while_the_practice_cannot_take_cards(world: World) -> None:
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    invoice = standalone_invoice(world, practice, client["id"])
    before, mail_before = snapshot(world, practice.id), len(world.emails())
    status, body = world.staff(
        "POST", f"/invoices/{invoice['id']}/request-payment-method", practice_id=practice.id
    )
    assert status == 409 and "connect Stripe first" in body["message"], body
    assert snapshot(world, practice.id) == before and len(world.emails()) == mail_before


# -- completing a session --------------------------------------------------------------------------
def checked_in_session(world: World, practice: Practice, client_id: str, start: datetime) -> str:
    status, svc = world.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": 12_000},
        practice_id=practice.id,
    )
    assert status == 201, svc
    status, session = world.staff(
        "POST",
        "/sessions",
        {
            "client_id": client_id,
            "service_id": svc["id"],
            "clinician_id": clinician(world, practice),
            "scheduled_start": z(start),
        },
        practice_id=practice.id,
        headers=booking_key(),
    )
    assert status == 201, session
    assert world.staff("POST", f"/sessions/{session['id']}/check-in", practice_id=practice.id)[0] == 200
    return str(session["id"])


def test_a_session_is_completed_only_once_it_has_ended(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    now = world.clock()
    sid = checked_in_session(world, practice, client["id"], now - timedelta(minutes=20))
    path = f"/sessions/{sid}/complete"
    before = snapshot(world, practice.id)
    refused = (
        # Ends 65 minutes from now: it has not happened yet.
        (now - timedelta(minutes=20), now + timedelta(minutes=65), "in the future"),
        # Ends beyond the clock-skew tolerance.
        (now - timedelta(minutes=20), now + timedelta(minutes=6), "in the future"),
        # A start after the end.
        (now - timedelta(minutes=5), now - timedelta(minutes=10), "after its start"),
    )
    for start, end, reason in refused:
        status, body = world.staff(
            "POST", path, {"actual_start": z(start), "actual_end": z(end)}, practice_id=practice.id
        )
        assert status == 400 and reason in body["message"], body
        assert body["details"]["field"] == "actual_end", body
    assert snapshot(world, practice.id) == before
    assert world.staff("GET", f"/sessions/{sid}", practice_id=practice.id)[1]["status"] == "checked_in"
    # A staff device whose clock runs a few minutes ahead still completes the session.
    start, end = now - timedelta(minutes=20), now + timedelta(minutes=4)
    status, done = world.staff(
        "POST", path, {"actual_start": z(start), "actual_end": z(end)}, practice_id=practice.id
    )
    assert status == 200 and done["status"] == "completed", done
    # The same completion repeated later is still the harmless repeat it was.
    world.clock.now = now + timedelta(hours=2)
    status, again = world.staff(
        "POST", path, {"actual_start": z(start), "actual_end": z(end)}, practice_id=practice.id
    )
    assert status == 200 and again["version"] == done["version"], again
