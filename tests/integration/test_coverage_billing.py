"""One notion of insured, through the real entry points: a client is insured for a session when
their billing type is ``insurance`` and a primary coverage is in force on its date of service.
Then they owe their copay (charged at check-in) and nothing else: the session's price is the
claim's, and until claims exist the nightly run leaves the session Incomplete ("claims not set
up"). Otherwise the self-pay rules apply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    C1,
    clinicians,
    drain,
    fire,
    install_queue,
    local,
    mails,
    service,
    session_on,
)
from therabill.contract import SERVICE_NAME

DAY = "2026-11-20"
PRICE = 15_000  # $150
COPAY = 2_500  # $25
MEMBER_ID = "ZQX98765432"
BIRTH_DATE = "1983-07-14"
SUBSCRIBER_BIRTH_DATE = "1961-02-03"
DIAGNOSIS = "F41.1"


def _paid(world: World) -> list[int]:
    """The amounts of every card payment that succeeded (minor units)."""
    return [
        int(e["data"]["object"]["amount"]) for e in world.stripe.events_of_type("payment_intent.succeeded")
    ]


def _practice(world: World) -> tuple[scenario.Practice, str]:
    install_queue(world)
    practice = scenario.create_practice(world)
    return practice, service(world, practice, price=PRICE)


def _client(world: World, practice: scenario.Practice, billing_type: str, **coverage: Any) -> dict[str, Any]:
    status, client = world.staff(
        "POST",
        "/clients",
        {
            "first_name": "Nia",
            "last_name": "Okafor",
            "email": "nia@client.test",
            "billing_type": billing_type,
        },
        practice_id=practice.id,
    )
    assert status == 201, client
    if coverage:
        scenario.add_coverage(world, practice, client["id"], **coverage)
    scenario.save_card(world, practice, client["id"])
    return dict(client)


def _tonight(world: World, practice: scenario.Practice) -> dict[str, Any]:
    world.clock.now = local(DAY, 20)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=practice.id)
    assert status == 200, listing
    return dict(listing)


def _state(listing: dict[str, Any], session_id: str) -> tuple[str, list[str]]:
    for state in ("ready", "incomplete", "skipped", "held"):
        for item in listing[state]:
            if item["session_id"] == session_id:
                return state, item["reasons"]
    raise AssertionError(f"{session_id} not listed")


def _ledger(world: World, practice: scenario.Practice, client_id: str) -> dict[str, Any]:
    status, ledger = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, ledger
    return dict(ledger)


def test_an_insured_client_with_a_25_copay_owes_25_for_a_150_session_never_175(
    world: World, capsys: pytest.CaptureFixture[str], recorded_logs: pytest.LogCaptureFixture
) -> None:
    practice, svc = _practice(world)
    client = _client(
        world,
        practice,
        "insurance",
        copay_override=COPAY,
        member_id=MEMBER_ID,
        relationship="child",
        patient_birth_date=BIRTH_DATE,
        patient_sex="F",
        subscriber={
            "first_name": "Ada",
            "last_name": "Okafor",
            "birth_date": SUBSCRIBER_BIRTH_DATE,
            "sex": "F",
            "address": {"line1": "12 Elm St", "city": "Albany", "state": "NY", "zip": "12207"},
        },
    )
    status, _ = world.staff(
        "PUT", f"/clients/{client['id']}/diagnoses", {"codes": [DIAGNOSIS]}, practice_id=practice.id
    )
    assert status == 200
    clinicians(world, practice.id)
    scenario.provider_setup(world, practice, C1)  # the claim's billing and rendering provider
    session = session_on(world, practice, client["id"], svc, local(DAY, 10))
    assert session["copay"]["amount"] == COPAY
    assert _paid(world) == [COPAY]  # the copay, at check-in
    # The session's price is not the client's: only the copay is on their ledger, and it is paid.
    ledger = _ledger(world, practice, client["id"])
    assert ledger["balance"] == 0 and ledger["receivable"] == 0
    assert sorted(e["amount"] for e in ledger["entries"] if e["kind"] == "charge") == [COPAY]

    assert _state(_tonight(world, practice), session["id"]) == ("incomplete", ["claims_not_set_up"])
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert _paid(world) == [COPAY]  # the nightly run charged nothing more: $25 in all, never $175
    status, run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=practice.id)
    assert status == 200 and run["items"] == [] and run["report"]["incomplete"] == 1, run
    assert _ledger(world, practice, client["id"])["balance"] == 0

    # Health information went nowhere: not in the logs, not to Stripe, not in any email.
    sent_to_stripe = json.dumps([r.params for r in world.stripe.requests], default=str)
    captured = capsys.readouterr()  # the functions' structured logs (stdout) and Therabill's loggers
    records = recorded_logs.records
    logged = captured.out + captured.err + "\n".join(json.dumps(vars(r), default=str) for r in records)
    # The logs were captured to look through: Therabill's own among them (they name the practice).
    assert any(
        r.name.startswith(SERVICE_NAME) and practice.id in json.dumps(vars(r), default=str) for r in records
    )
    emailed = json.dumps(mails(world))
    for secret in (MEMBER_ID, BIRTH_DATE, SUBSCRIBER_BIRTH_DATE, "19830714", DIAGNOSIS, "F411", "12 Elm St"):
        assert secret not in sent_to_stripe, secret
        assert secret not in logged, secret
        assert secret not in emailed, secret


def test_a_self_pay_client_is_billed_the_session_price_as_before(world: World) -> None:
    practice, svc = _practice(world)
    client = _client(world, practice, "self_pay")
    session = session_on(world, practice, client["id"], svc, local(DAY, 10))
    assert session["copay"] is None and _paid(world) == []  # no copay at check-in
    assert _ledger(world, practice, client["id"])["balance"] == PRICE
    assert _state(_tonight(world, practice), session["id"]) == ("ready", [])
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert _paid(world) == [PRICE]


def test_coverage_that_ended_before_the_date_of_service_bills_as_self_pay(world: World) -> None:
    """The billing type is still insurance, but no primary is in force that day: no copay at
    check-in, the session's price on the client's ledger, charged by the nightly run."""
    practice, svc = _practice(world)
    client = _client(
        world, practice, "insurance", copay_override=COPAY, effective_date="2026-01-01", end_date="2026-10-31"
    )
    session = session_on(world, practice, client["id"], svc, local(DAY, 10))
    assert session["copay"] is None and _paid(world) == []
    assert _state(_tonight(world, practice), session["id"]) == ("ready", [])
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert _paid(world) == [PRICE]


def test_insurance_billing_type_without_coverage_and_coverage_without_the_billing_type_are_self_pay(
    world: World,
) -> None:
    practice, svc = _practice(world)
    no_policy = _client(world, practice, "insurance")
    status, other = world.staff(
        "POST",
        "/clients",
        {"first_name": "Ola", "last_name": "Self", "email": "ola@client.test"},
        practice_id=practice.id,
    )
    assert status == 201
    scenario.add_coverage(world, practice, other["id"], copay_override=COPAY)  # billing type self_pay
    scenario.save_card(world, practice, other["id"])
    first = session_on(world, practice, no_policy["id"], svc, local(DAY, 9))
    second = session_on(world, practice, other["id"], svc, local(DAY, 11))
    assert first["copay"] is None and second["copay"] is None
    listing = _tonight(world, practice)
    assert _state(listing, first["id"])[0] == _state(listing, second["id"])[0] == "ready"


def test_a_not_billed_client_is_skipped_and_pays_no_copay(world: World) -> None:
    practice, svc = _practice(world)
    client = _client(world, practice, "not_billed", copay_override=COPAY)
    session = session_on(world, practice, client["id"], svc, local(DAY, 10))
    assert session["copay"] is None
    assert _state(_tonight(world, practice), session["id"]) == ("skipped", ["not_billed"])


def _no_show_fee_policy(world: World, practice: scenario.Practice) -> None:
    status, policy = world.staff(
        "PUT",
        "/practice/cancellation-policy",
        {"no_show_fee": {"kind": "flat", "amount": {"amount": 5_000, "currency": "usd"}}},
        practice_id=practice.id,
    )
    assert status == 200, policy


def test_coverage_that_forbids_fees_waives_the_no_show_fee(world: World) -> None:
    practice, svc = _practice(world)
    _no_show_fee_policy(world, practice)
    medicaid = _client(
        world,
        practice,
        "insurance",
        payer={"id": "SKNY0", "name": "NY Medicaid"},
        forbids_cancellation_fees_override=True,
    )
    session = session_on(world, practice, medicaid["id"], svc, local(DAY, 10), outcome="no_show")
    assert session["fee"]["reason"] == "payer_forbids" and session["fee"]["amount"] == 0
    assert _paid(world) == []


def test_coverage_that_does_not_forbid_fees_leaves_the_no_show_fee(world: World) -> None:
    practice, svc = _practice(world)
    _no_show_fee_policy(world, practice)
    client = _client(world, practice, "insurance", copay_override=COPAY)
    session = session_on(world, practice, client["id"], svc, local(DAY, 10), outcome="no_show")
    assert session["fee"]["amount"] == 5_000 and session["fee"]["reason"] != "payer_forbids"


def test_booking_asks_no_deposit_of_an_insured_client_only_while_covered(world: World) -> None:
    practice, svc = _practice(world)
    status, rule = world.staff(
        "PUT",
        f"/services/{svc}/booking-payment",
        {"rule": {"kind": "deposit", "deposit_amount": 3_000}},
        practice_id=practice.id,
    )
    assert status == 200, rule
    client = _client(world, practice, "insurance", copay_override=COPAY, end_date="2026-11-30")
    covered = session_on(world, practice, client["id"], svc, local("2026-11-25", 10), outcome="booked")
    assert covered["booking_requirement"] == "none:insured"
    after = session_on(world, practice, client["id"], svc, local("2026-12-02", 10), outcome="booked")
    assert after["booking_requirement"] == "deposit:service"


def test_a_client_not_yet_migrated_to_coverage_is_billed_nothing_until_migrated(world: World) -> None:
    """Deployed before the coverage migration ran, a client whose item still holds the old copay
    must not be billed the session's full price by the nightly run: it waits, with a reason."""
    from scripts.migrate_coverage import migrate

    practice, svc = _practice(world)
    client = _client(world, practice, "self_pay")
    world.container.table.update(  # the client as the code before coverage stored them
        f"P#{practice.id}",
        f"CLIENT#{client['id']}",
        update="SET copay_amount = :c",
        values={":c": COPAY},
    )
    session = session_on(world, practice, client["id"], svc, local(DAY, 10))
    assert _state(_tonight(world, practice), session["id"]) == ("incomplete", ["insurance_not_migrated"])
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    assert _paid(world) == []  # nothing charged, not the $150
    migrate(world.container.table, [practice.id], world.clock())
    world.clock.now = local(DAY, 20)
    reasons = _state(_tonight(world, practice), session["id"])[1]
    assert "insurance_not_migrated" not in reasons
