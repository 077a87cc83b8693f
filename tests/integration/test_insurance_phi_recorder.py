"""A recorder over everything sent to Stripe and everything logged across an insurance scenario,
through the real handlers: a coverage with a member id, dates of birth and a subscriber added to
a client with a diagnosis, its eligibility checked (the Stedi adapter over the Stedi fake, the
sandbox payer's $25 copay member), an authorization with its CPT code and reference, a session
under a CPT code checked in (the copay charged to the card) and completed, and the nightly run.
None of that health information reaches Stripe or a log line."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.eligibility_support import ACTIVE, eligibility_calls, with_clearinghouse
from tests.integration.test_nightly_support import (
    C1,
    clinicians,
    drain,
    fire,
    install_queue,
    local,
    service,
    session_on,
)
from therabill.contract import SERVICE_NAME

DAY = "2026-11-20"
BIRTH_DATE = "1983-07-14"
SUBSCRIBER_BIRTH_DATE = "1961-02-03"
SUBSCRIBER = ("Bertram", "Quillfeather")
DIAGNOSIS = "F41.1"
CPT = "90837"
REFERENCE = "PA77QX31"
HEALTH = (
    ACTIVE,
    BIRTH_DATE,
    BIRTH_DATE.replace("-", ""),
    SUBSCRIBER_BIRTH_DATE,
    SUBSCRIBER_BIRTH_DATE.replace("-", ""),
    *SUBSCRIBER,
    DIAGNOSIS,
    DIAGNOSIS.replace(".", ""),
    CPT,
    REFERENCE,
)


def _insured_client(world: World, practice: scenario.Practice) -> tuple[str, str]:
    status, client = world.staff(
        "POST",
        "/clients",
        {"first_name": "Nia", "last_name": "Okafor", "email": "nia@client.test", "billing_type": "insurance"},
        practice_id=practice.id,
    )
    assert status == 201, client
    status, _ = world.staff(
        "PUT", f"/clients/{client['id']}/diagnoses", {"codes": [DIAGNOSIS]}, practice_id=practice.id
    )
    assert status == 200
    coverage = scenario.add_coverage(
        world,
        practice,
        client["id"],
        payer={"id": "SBX01", "name": "Sandbox Health Plan"},
        member_id=ACTIVE,
        relationship="child",
        patient_birth_date=BIRTH_DATE,
        patient_sex="F",
        subscriber={
            "first_name": SUBSCRIBER[0],
            "last_name": SUBSCRIBER[1],
            "birth_date": SUBSCRIBER_BIRTH_DATE,
            "sex": "M",
            "address": {"line1": "12 Elm St", "city": "Albany", "state": "NY", "zip": "12207"},
        },
        authorization_required=True,
    )
    return str(client["id"]), str(coverage["id"])


def test_nothing_of_an_insurance_scenarios_health_information_reaches_stripe_or_the_logs(
    world: World, capsys: pytest.CaptureFixture[str], recorded_logs: pytest.LogCaptureFixture
) -> None:
    stedi = with_clearinghouse(world)
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice, price=15_000)
    clinicians(world, practice.id)
    scenario.provider_setup(world, practice, C1)
    world.clock.now = local(DAY, 8)
    client_id, coverage_id = _insured_client(world, practice)
    path = f"/clients/{client_id}/coverage/{coverage_id}"

    status, answer = world.staff("POST", f"{path}/eligibility", {"date": DAY}, practice_id=practice.id)
    assert status == 201, answer
    assert answer["check"]["status"] == "active" and answer["coverage"]["copay_amount"] == 2_500
    assert eligibility_calls(stedi) == 1
    body = {"authorized": 4, "cpt_codes": [CPT], "start_date": "2026-11-01", "end_date": "2026-12-31"}
    status, auth = world.staff(
        "POST",
        f"{path}/authorizations",
        {**body, "reference": REFERENCE},
        practice_id=practice.id,
        headers={"Idempotency-Key": "phi-recorder-authorization"},
    )
    assert status == 201, auth
    scenario.save_card(world, practice, client_id)
    session = session_on(world, practice, client_id, svc, local(DAY, 10))
    assert (session["copay"]["amount"], session["copay"]["status"]) == (2_500, "charged")
    status, auth = world.staff("GET", f"{path}/authorizations/{auth['id']}", practice_id=practice.id)
    assert (status, auth["used"]) == (200, 1)
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    status, run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=practice.id)
    assert status == 200 and run["report"]["incomplete"] == 1, run  # waiting for claims

    # What the recorders hold: the copay's PaymentIntent went to Stripe, the functions logged.
    sent = [dataclasses.asdict(r) for r in world.stripe.requests]
    assert any(r["path"] == "/v1/payment_intents" and r["params"].get("amount") == "2500" for r in sent), sent
    sent_to_stripe = json.dumps(sent, default=str)
    captured = capsys.readouterr()
    records = [json.dumps(vars(r), default=str) + r.getMessage() for r in recorded_logs.records]
    logged = captured.out + captured.err + "\n".join(records)
    own = [r for r in recorded_logs.records if r.name.startswith(SERVICE_NAME)]
    assert any(practice.id in json.dumps(vars(r), default=str) for r in own)  # ids are logged, and read
    for secret in HEALTH:
        assert secret not in sent_to_stripe, secret
        assert secret not in logged, secret
