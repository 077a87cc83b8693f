"""Factories for integration tests: drive the system only through its entry points."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.integration.conftest import World, new_practice_id


@dataclass
class Practice:
    id: str
    account: str


def create_practice(
    world: World,
    *,
    connect: bool = True,
    name: str = "Harbor Family Practice",
    time_zone: str = "America/New_York",
) -> Practice:
    pid = new_practice_id()
    status, body = world.staff(
        "POST",
        "/practice",
        {"name": name, "email": "office@harbor.test", "time_zone": time_zone},
        practice_id=pid,
    )
    assert status == 201, body
    account = ""
    if connect:
        status, body = world.staff(
            "POST",
            "/practice/stripe/connect",
            {"refresh_url": "https://app.test/refresh", "return_url": "https://app.test/done"},
            practice_id=pid,
        )
        assert status == 200, body
        _, practice = world.staff("GET", "/practice", practice_id=pid)
        account = practice["stripe"]["account_id"]
        since = len(world.stripe.events)
        world.stripe.complete_onboarding(account)
        world.deliver_stripe_events(since=since)
        _, practice = world.staff("GET", "/practice", practice_id=pid)
        assert practice["stripe"]["charges_enabled"], practice
    return Practice(pid, account)


def clinician(world: World, practice: Practice | str) -> str:
    """A clinician of the practice (the harness's member with the clinician role): the staff id
    a session or a supervision names."""
    practice_id = practice if isinstance(practice, str) else practice.id
    return world.member(practice_id, "clinician").id


def booking_key() -> dict[str, str]:
    """The Idempotency-Key header POST /sessions requires: a new booking on every call."""
    return {"Idempotency-Key": f"booking-{uuid.uuid4()}"}


def create_client(world: World, practice: Practice, **fields: Any) -> dict[str, Any]:
    """A client; ``copay_amount`` or ``payer_forbids_fees`` make them insured (billing type
    insurance and a primary coverage in force from the start holding them)."""
    copay = fields.pop("copay_amount", None)
    forbids = fields.pop("payer_forbids_fees", None)
    insured = copay is not None or bool(forbids)
    body = {"first_name": "Ann", "last_name": "Client", "email": "ann@client.test", **fields}
    if insured:
        body["billing_type"] = "insurance"
    status, client = world.staff("POST", "/clients", body, practice_id=practice.id)
    assert status == 201, client
    if insured:
        coverage: dict[str, Any] = {"copay_override": copay}
        if forbids:
            coverage["forbids_cancellation_fees_override"] = True
        add_coverage(world, practice, client["id"], **coverage)
    return client


COVERAGE = {
    "rank": "primary",
    "payer": {"id": "60054", "name": "Aetna"},
    "plan_name": "Open Access",
    "member_id": "W123456789",
    "group_number": "GRP-001",
}


def add_coverage(world: World, practice: Practice, client_id: str, **fields: Any) -> dict[str, Any]:
    """A coverage through the API (a primary Aetna policy in force from the start unless told)."""
    body = {**COVERAGE, **fields}
    status, coverage = world.staff("POST", f"/clients/{client_id}/coverage", body, practice_id=practice.id)
    assert status == 201, coverage
    return coverage


def setup_link(
    world: World,
    practice: Practice,
    client_id: str,
    *,
    kinds: list[str] | None = None,
    max_amount: int | None = 50_000,
    contact_id: str | None = None,
) -> str:
    scope: dict[str, Any] = {"kinds": kinds or ["copay", "session_fee", "cancellation_fee", "balance"]}
    if max_amount:
        scope["max_amount"] = max_amount
    body: dict[str, Any] = {"scope": scope}
    if contact_id:
        body["contact_id"] = contact_id
    status, link = world.staff("POST", f"/clients/{client_id}/setup-links", body, practice_id=practice.id)
    assert status == 201, link
    return str(link["url"]).split("/setup/")[1]


def save_card(
    world: World,
    practice: Practice,
    client_id: str,
    *,
    pm: str = "pm_card_visa",
    token: str | None = None,
    **link_args: Any,
) -> dict[str, Any]:
    """What a client does on the public page: agree, then Stripe.js confirms the SetupIntent."""
    _, before = world.staff("GET", f"/clients/{client_id}/cards", practice_id=practice.id)
    token = token or setup_link(world, practice, client_id, **link_args)
    status, page = world.public("GET", f"/setup/{token}")
    assert status == 200, page
    version = page.split('"version": "')[1].split('"')[0]
    status, intent = world.public(
        "POST",
        f"/setup/{token}/intent",
        {"signer_name": "Ann Client", "agreed": True, "text_version": version},
    )
    assert status == 200, intent
    since = len(world.stripe.events)
    setup_intent_id = intent["client_secret"].split("_secret_")[0]
    confirmed = world.stripe.client(stripe_account=intent["stripe_account"]).v1.setup_intents.confirm(
        setup_intent_id, {"payment_method": pm}
    )
    if confirmed.status == "requires_action":  # the client completes 3-D Secure on the page
        world.stripe.complete_setup_authentication(intent["stripe_account"], setup_intent_id)
    world.deliver_stripe_events(since=since)
    status, cards = world.staff("GET", f"/clients/{client_id}/cards", practice_id=practice.id)
    new = [c for c in cards if c["id"] not in {b["id"] for b in before}]
    assert status == 200 and len(new) == 1, cards
    return new[0]


def charge(
    world: World,
    practice: Practice,
    client_id: str,
    amount: int,
    *,
    kind: str = "copay",
    key: str = "charge-key-0001",
    **extra: Any,
) -> tuple[int, dict[str, Any]]:
    return world.staff(
        "POST",
        f"/clients/{client_id}/charges",
        {"amount": amount, "kind": kind, **extra},
        practice_id=practice.id,
        headers={"Idempotency-Key": key},
    )


def event_json(event: dict[str, Any]) -> str:
    return json.dumps(event)


# -- sessions ------------------------------------------------------------------------------------
def after_the_session(world: World, completion: Any) -> None:
    """A session is completed once it has ended: the world's clock moves on to the completion's
    real end (when there is one and the clock is earlier)."""
    if isinstance(completion, dict) and isinstance(completion.get("actual_end"), str):
        try:
            end = datetime.fromisoformat(completion["actual_end"])
        except ValueError:
            return  # bad input: the request itself is refused
        if end.tzinfo is not None and end > world.clock.now:
            world.clock.now = end


# -- invoices ------------------------------------------------------------------------------------
def completed_session(
    world: World, practice: Practice, client_id: str, *, minutes: int = 50
) -> dict[str, Any]:
    """A session booked, checked in and completed: its charge (``session:<ses>``) is on the ledger."""
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
            "scheduled_start": "2031-03-04T15:00:00Z",
        },
        practice_id=practice.id,
        headers=booking_key(),
    )
    assert status == 201, session
    world.staff("POST", f"/sessions/{session['id']}/check-in", practice_id=practice.id)
    completion = {"actual_start": "2031-03-04T15:00:00Z", "actual_end": f"2031-03-04T15:{minutes:02d}:00Z"}
    after_the_session(world, completion)
    status, done = world.staff(
        "POST", f"/sessions/{session['id']}/complete", completion, practice_id=practice.id
    )
    assert status == 200, done
    return dict(done)


def create_invoice(
    world: World,
    practice: Practice,
    body: dict[str, Any],
    *,
    key: str = "invoice-key-0001",
    role: str = "owner",
) -> tuple[int, Any]:
    return world.staff(
        "POST", "/invoices", body, practice_id=practice.id, role=role, headers={"Idempotency-Key": key}
    )


def standalone_invoice(
    world: World,
    practice: Practice,
    client_id: str,
    amount: int = 5_000,
    *,
    send: bool = True,
    key: str = "inv-s-0001",
) -> dict[str, Any]:
    status, invoice = create_invoice(
        world,
        practice,
        {
            "client_id": client_id,
            "kind": "standalone",
            "lines": [
                {"description": "Balance carried over", "amount": amount, "category": "previous_balance"}
            ],
            "send": send,
        },
        key=key,
    )
    assert status == 201, invoice
    return dict(invoice)


BILLING_PROVIDER: dict[str, Any] = {
    "entity": "organization",
    "organization_name": "Harbor Therapy Group",
    "npi": "1234567893",
    "tax_id": {"kind": "ein", "number": "12-3456789"},
    "taxonomy": "193400000X",
    "accepts_assignment": True,
    "address": {"lines": ["12 Harbor Street"], "city": "Portland", "state": "ME", "zip": "04101-1234"},
    "contact": {"name": "Dana Reyes", "phone": "(207) 555-0143", "email": "billing@harbor.example"},
}


def provider_setup(world: World, practice: Practice | str, *clinician_ids: str) -> None:
    """What insured sessions' claims need: the practice's billing provider (set once) and each
    clinician's rendering NPI and taxonomy (their supervisor, credentials kept)."""
    pid = practice if isinstance(practice, str) else practice.id
    if world.staff("GET", "/practice/billing-provider", practice_id=pid)[0] == 404:
        status, body = world.staff("PUT", "/practice/billing-provider", BILLING_PROVIDER, practice_id=pid)
        assert status == 200, body
    for clinician_id in clinician_ids:
        status, record = world.staff("GET", f"/clinicians/{clinician_id}/provider", practice_id=pid)
        assert status == 200, record
        if record["rendering_npi"]:
            continue
        body = {
            "rendering_npi": "1245319599",
            "taxonomy": "225X00000X",
            "credentials": record["credentials"],
            "supervisor_id": record["supervisor_id"],
            "expected_version": record["version"],
        }
        status, record = world.staff("PUT", f"/clinicians/{clinician_id}/provider", body, practice_id=pid)
        assert status == 200, record
