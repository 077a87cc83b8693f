"""The nightly run end to end: tonight's listing (dry run) equals what the run does; the run bills
each Ready session once (a charge where the card's consent allows, else an invoice sent), reports
once, and a second firing, a duplicate message or "run now" changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    Claims,
    charges,
    drain,
    fire,
    install_queue,
    insure,
    local,
    run_of,
    service,
    session_on,
    subjects,
)

DAY = "2026-11-20"


@pytest.fixture
def night(world: World) -> dict[str, Any]:
    """A connected practice (America/New_York, cutoff 23:00) with tonight: A (card on file,
    consent for session fees) completed, B (no card, an email) completed, C (not billed: a 0
    pricing rule) completed, D insured, E a no-show with a fee left open."""
    install_queue(world)
    practice = scenario.create_practice(world)
    status, policy = world.staff(
        "PUT",
        "/practice/cancellation-policy",
        {"no_show_fee": {"kind": "flat", "amount": {"amount": 5_000, "currency": "usd"}}},
        practice_id=practice.id,
    )
    assert status == 200, policy
    svc = service(world, practice)
    a = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, a["id"])
    b = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    c = scenario.create_client(world, practice, first_name="Cal", email="cal@client.test")
    status, _ = world.staff(
        "PUT", f"/clients/{c['id']}/pricing/{svc}", {"kind": "fixed", "amount": 0}, practice_id=practice.id
    )
    assert status == 200
    d = scenario.create_client(world, practice, first_name="Dee", email="dee@client.test")
    insure(world, practice, d["id"])
    status, _ = world.staff(
        "PUT", f"/clients/{d['id']}/diagnoses", {"codes": ["F41.1"]}, practice_id=practice.id
    )
    assert status == 200  # an insured session's claim needs a diagnosis
    e = scenario.create_client(world, practice, first_name="Eve", email="eve@client.test")
    sessions = {
        "a": session_on(world, practice, a["id"], svc, local(DAY, 9)),
        "b": session_on(world, practice, b["id"], svc, local(DAY, 10)),
        "c": session_on(world, practice, c["id"], svc, local(DAY, 11)),
        "d": session_on(world, practice, d["id"], svc, local(DAY, 12)),
        "e": session_on(world, practice, e["id"], svc, local(DAY, 13), outcome="no_show"),
    }
    return {"practice": practice, "sessions": sessions, "service": svc}


def _states(listing: dict[str, Any]) -> dict[str, tuple[str, str]]:
    out = {}
    for state in ("ready", "incomplete", "skipped", "held"):
        for item in listing[state]:
            out[item["session_id"]] = (state, item["action"])
    return out


def test_tonight_lists_ready_and_incomplete_with_reasons(world: World, night: dict[str, Any]) -> None:
    p, s = night["practice"], night["sessions"]
    world.clock.now = local(DAY, 20)
    status, listing = world.staff("GET", "/nightly/tonight", practice_id=p.id)
    assert status == 200, listing
    assert listing["run_date"] == DAY and listing["run_status"] is None
    states = _states(listing)
    assert states[s["a"]["id"]] == ("ready", "charge")
    assert states[s["b"]["id"]] == ("ready", "send")
    assert states[s["c"]["id"]] == ("skipped", "none")
    assert states[s["d"]["id"]][0] == "incomplete"
    assert states[s["e"]["id"]] == ("ready", "send")  # the fee the no-show left open
    insured = next(i for i in listing["incomplete"] if i["session_id"] == s["d"]["id"])
    assert insured["reasons"] == ["claims_not_set_up"]
    assert "claims not set up" in insured["reason_texts"]
    skipped = next(i for i in listing["skipped"] if i["session_id"] == s["c"]["id"])
    assert skipped["reasons"] == ["not_billed"]
    assert listing["totals"]["to_charge"] == 1 and listing["totals"]["to_charge_amount"] == 12_000
    assert listing["totals"]["to_send"] == 2 and listing["totals"]["to_send_amount"] == 12_000 + 5_000
    # A dry run writes nothing: no run exists afterwards.
    status, runs = world.staff("GET", "/billing-runs", practice_id=p.id)
    assert status == 200 and runs["items"] == []


def test_run_bills_each_ready_session_once_and_reports(world: World, night: dict[str, Any]) -> None:
    p, s = night["practice"], night["sessions"]
    world.clock.now = local(DAY, 20)
    _, summary = world.staff("GET", "/nightly/summary", practice_id=p.id)
    before = charges(world)
    result = fire(world, p.id, local(DAY, 23))
    assert result["run"] == f"run:{p.id}:{DAY}"
    drain(world)
    after = charges(world)
    assert after == before + 1  # Ada's card, once
    status, run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)
    assert status == 200, run
    assert run["status"] == "done" and run["planned"] == 3 and run["finished"] == 3
    outcomes = {i["session_id"]: i["outcome"] for i in run["items"]}
    assert outcomes == {s["a"]["id"]: "charged", s["b"]["id"]: "sent", s["e"]["id"]: "sent"}
    report = run["report"]
    assert report["items_billed"] == 3 and report["cards_charged"] == 1 and report["invoices_sent"] == 2
    assert report["amount_billed"] == 12_000 * 2 + 5_000 and report["amount_charged"] == 12_000
    assert report["incomplete"] == 1 and report["skipped"] == 1 and report["failures"] == []
    # What the summary said is what the run did.
    assert {i["session_id"] for i in summary["ready"]} == set(outcomes)
    assert summary["totals"]["ready_amount"] == report["amount_billed"]
    # Ada's invoice is paid; Bea's is open and was emailed once; the report went out once.
    a_inv = run["items"][[i["session_id"] for i in run["items"]].index(s["a"]["id"])]["invoice_ids"][0]
    _, inv = world.staff("GET", f"/invoices/{a_inv}", practice_id=p.id)
    assert inv["status"] == "paid"
    assert len(subjects(world, "Billing run")) == 1
    invoice_mails = len(subjects(world, "nvoice"))
    # Again: the schedule fires twice, staff press "run now", the messages are redelivered.
    fire(world, p.id, local(DAY, 23, minute=5))
    drain(world)
    world.clock.now = local(DAY, 23, minute=30)
    status, again = world.staff("POST", "/billing-runs", practice_id=p.id)
    assert status == 202 and again["run"]["status"] == "done"
    drain(world)
    assert charges(world) == after
    assert len(subjects(world, "Billing run")) == 1
    assert len(subjects(world, "nvoice")) == invoice_mails
    # Tomorrow night nothing is left to bill from today.
    fire(world, p.id, local("2026-11-21", 23))
    drain(world)
    tomorrow = world.staff("GET", "/billing-runs/2026-11-21", practice_id=p.id)[1]
    assert tomorrow["status"] == "done" and tomorrow["planned"] == 0
    assert charges(world) == after
    status, runs = world.staff("GET", "/billing-runs", practice_id=p.id)
    assert [r["run_date"] for r in runs["items"]] == ["2026-11-21", DAY]


def test_duplicate_item_message_bills_nothing_twice(world: World, night: dict[str, Any]) -> None:
    p = night["practice"]
    fire(world, p.id, local(DAY, 23))
    sqs = world.session.client("sqs")
    url = sqs.get_queue_url(QueueName="therabill-nightly-test")["QueueUrl"]
    # Plan only, keeping a copy of each batch message, then deliver every batch twice.
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    from devstack import apigw

    handler = world.handler("nightly_worker")
    plan = out["Messages"]
    handler(apigw.sqs_event([m["Body"] for m in plan]), apigw.LambdaContext("w"))
    for m in plan:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    bodies = [m["Body"] for m in batch]
    before = charges(world)
    first = handler(apigw.sqs_event(bodies + bodies), apigw.LambdaContext("w"))
    assert first["batchItemFailures"] == []
    handler(apigw.sqs_event(bodies), apigw.LambdaContext("w"))
    assert charges(world) == before + 1
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[1]
    assert run["status"] == "done" and run["finished"] == run["planned"] == 3
    assert len(subjects(world, "Billing run")) == 1


def test_hold_keeps_an_item_out_until_tomorrow_and_waive_clears_a_fee(
    world: World, night: dict[str, Any]
) -> None:
    p, s = night["practice"], night["sessions"]
    world.clock.now = local(DAY, 20)
    status, held = world.staff("POST", f"/nightly/items/{s['b']['id']}/hold", practice_id=p.id)
    assert status == 200 and held == {"session_id": s["b"]["id"], "run_date": DAY, "held": True}
    status, waived = world.staff("POST", f"/nightly/items/{s['e']['id']}/waive-fee", practice_id=p.id)
    assert status == 200, waived
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=p.id)
    states = _states(listing)
    assert states[s["b"]["id"]] == ("held", "none")
    assert s["e"]["id"] not in states  # nothing left to bill: the fee is waived
    fire(world, p.id, local(DAY, 23))
    drain(world)
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[1]
    assert {i["session_id"] for i in run["items"]} == {s["a"]["id"]}
    assert run["report"]["held"] == [s["b"]["id"]]
    # After the cutoff (the run has started) holds are refused.
    status, err = world.staff("DELETE", f"/nightly/items/{s['b']['id']}/hold", practice_id=p.id)
    assert status == 409, err
    # Tomorrow the held session is billed.
    fire(world, p.id, local("2026-11-21", 23))
    drain(world)
    run = world.staff("GET", "/billing-runs/2026-11-21", practice_id=p.id)[1]
    assert [(i["session_id"], i["outcome"]) for i in run["items"]] == [(s["b"]["id"], "sent")]


def test_holiday_calendar_skips_and_moves(world: World, night: dict[str, Any]) -> None:
    p = night["practice"]
    status, settings = world.staff(
        "PUT",
        "/nightly/settings",
        {"holidays": {DAY: "skip", "2026-11-22": "2026-11-21"}, "summary_hours_before": 4},
        practice_id=p.id,
    )
    assert status == 200, settings
    assert settings["holidays"] == {DAY: "skip", "2026-11-22": "2026-11-21"}
    before = charges(world)
    assert fire(world, p.id, local(DAY, 23))["run"] is None
    drain(world)
    assert world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[0] == 404
    assert charges(world) == before
    fire(world, p.id, local("2026-11-21", 23))
    drain(world)
    run = world.staff("GET", "/billing-runs/2026-11-21", practice_id=p.id)[1]
    assert run["moved_from"] == ["2026-11-22"] and run["report"]["items_billed"] == 3
    assert fire(world, p.id, local("2026-11-22", 23))["run"] is None
    assert charges(world) == before + 1


def test_evening_summary_email_once_from_its_schedule(world: World, night: dict[str, Any]) -> None:
    p = night["practice"]
    fire(world, p.id, local(DAY, 20), kind="summary")
    fire(world, p.id, local(DAY, 20, minute=1), kind="summary")
    mails = subjects(world, "Tonight's billing run")
    assert mails == ["Tonight's billing run: 3 ready"]
    assert world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[0] == 404  # a dry run


def test_the_sample_events_start_plan_and_report_a_run(world: World) -> None:
    """events/scheduler/nightly_run.json, nightly_summary.json and events/sqs/nightly_batch.json,
    through the real handlers (the practice of events/api/staff_create_practice.json)."""
    import json
    from pathlib import Path

    from devstack.apigw import LambdaContext

    install_queue(world)
    events = Path(__file__).resolve().parents[2] / "events"

    def load(name: str) -> dict[str, Any]:
        return dict(json.loads((events / name).read_text()))

    world.admit(load("api/staff_create_practice.json"))  # the samples' staff member
    assert (
        world.handler("staff_api")(load("api/staff_create_practice.json"), LambdaContext("s"))["statusCode"]
        == 201
    )
    out = world.handler("nightly_dispatch")(load("scheduler/nightly_summary.json"), LambdaContext("d"))
    assert out["summary"] == "2026-11-23" and out["items"] == 0
    out = world.handler("nightly_dispatch")(load("scheduler/nightly_run.json"), LambdaContext("d"))
    assert out["run"] == "run:prc_01jz0000000000000000000000:2026-11-23"
    result = world.handler("nightly_worker")(load("sqs/nightly_batch.json"), LambdaContext("w"))
    assert result == {"batchItemFailures": []}
    run = world.container.nightly.find_run("prc_01jz0000000000000000000000", date(2026, 11, 23))
    assert run is not None and run.status == "done" and run.planned == 0
    assert subjects(world, "Billing run") == ["Billing run 2026-11-23: 0 billed, 0 failed"]
    # The contract's nightly-sweep schedule: nothing is left open.
    out = world.handler("nightly_dispatch")(load("scheduler/nightly_sweep.json"), LambdaContext("d"))
    assert out == {"sweep": {"open": 0, "resumed": 0, "failed": 0}}
    # A message naming no practice fails alone (SQS redelivers it, then the DLQ).
    bad = load("sqs/nightly_batch.json")
    bad["Records"][0]["body"] = '{"type":"plan","practice_id":"nope","run_date":"2026-11-23"}'
    result = world.handler("nightly_worker")(bad, LambdaContext("w"))
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["Records"][0]["messageId"]}]}


def test_the_payers_credit_pays_part_and_the_card_is_charged_the_rest(world: World) -> None:
    install_queue(world)
    p = scenario.create_practice(world)
    svc = service(world, p)
    client = scenario.create_client(world, p, email="cred@client.test")
    scenario.save_card(world, p, client["id"])
    status, body = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/manual",
        {"amount": 5_000, "method": "cash"},
        practice_id=p.id,
        headers={"Idempotency-Key": "cash-credit-0001"},
    )
    assert status in (200, 201), body
    ses = session_on(world, p, client["id"], svc, local(DAY, 9))
    fire(world, p.id, local(DAY, 23))
    drain(world)
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[1]
    (item,) = run["items"]
    assert item["session_id"] == ses["id"] and item["outcome"] == "charged"
    assert item["billed"] == 12_000 and item["charged"] == 7_000  # the credit paid 5,000
    _, inv = world.staff("GET", f"/invoices/{item['invoice_ids'][0]}", practice_id=p.id)
    assert inv["status"] == "paid"
    intents = world.stripe.events_of_type("payment_intent.succeeded")
    assert [e["data"]["object"]["amount"] for e in intents] == [7_000]


def test_the_run_has_its_place_for_claims(world: World, night: dict[str, Any]) -> None:
    """With a claims port wired, the insured session is Ready as a claim and submitted once."""
    p, s = night["practice"], night["sessions"]
    claims = Claims()
    world.container.nightly.claims = claims
    world.clock.now = local(DAY, 20)
    _, listing = world.staff("GET", "/nightly/tonight", practice_id=p.id)
    assert _states(listing)[s["d"]["id"]] == ("ready", "claim")
    fire(world, p.id, local(DAY, 23))
    drain(world)
    fire(world, p.id, local(DAY, 23, minute=10))
    drain(world)
    run = world.staff("GET", f"/billing-runs/{DAY}", practice_id=p.id)[1]
    outcomes = {i["session_id"]: i["outcome"] for i in run["items"]}
    assert outcomes[s["d"]["id"]] == "claimed" and claims.submitted == [s["d"]["id"]]
    assert run["report"]["claims_submitted"] == 1 and run["report"]["incomplete"] == 0


def test_a_session_older_than_the_look_back_window_is_still_billed_once(world: World) -> None:
    """A session completed weeks ago that no run finished (its night was skipped, or it was
    incomplete until now) is found through its to-do item, billed once, and the to-do is gone."""
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    old = scenario.create_client(world, practice, first_name="Old", email="old@client.test")
    long_ago = "2026-10-01"  # seven weeks before the run
    session = session_on(world, practice, old["id"], svc, local(long_ago, 9))
    pk = f"P#{practice.id}"
    assert len(world.container.table.query_all(pk, prefix="TOBILL#")) == 1
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    run = run_of(world, practice.id, DAY)
    assert [(i["session_id"], i["outcome"]) for i in run["items"]] == [(session["id"], "sent")], run
    assert world.container.table.query_all(pk, prefix="TOBILL#") == []
    fire(world, practice.id, local("2026-11-21", 23))
    drain(world)
    assert run_of(world, practice.id, "2026-11-21")["planned"] == 0
