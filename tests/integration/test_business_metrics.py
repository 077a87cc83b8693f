"""The business metrics, through the real entry points: each handler's ``log_metrics`` writes
CloudWatch EMF to stdout, which these tests read back (metrics enabled for the test only). A
charge, a nightly run, a webhook and an email each leave their counts (and a charge its amount,
per currency); the nightly sweep reports a run not done two hours after its cutoff and stops once
it is done. No metric carries a practice, a client or a session."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from devstack import apigw
from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import (
    drain,
    fire,
    install_queue,
    insure,
    local,
    purge,
    service,
    session_on,
)
from therabill import contract
from therabill.observability import metrics

DAY = "2026-11-20"
SWEEP = {"schedule": "nightly-sweep", "scheduled_time": "2026-11-21T06:00:00Z"}


class Emf:
    """The EMF records printed since the last read, and their values summed by metric name."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.records: list[dict[str, Any]] = []

    def read(self) -> dict[str, float]:
        """Totals by metric name (``<name>Amount`` keyed with its currency: ``name/usd``)."""
        self.records = []
        for line in self._capsys.readouterr().out.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "_aws" in record:
                self.records.append(record)
        totals: dict[str, float] = defaultdict(float)
        for record in self.records:
            for directive in record["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == contract.METRICS_NAMESPACE
                for metric in directive["Metrics"]:
                    name = metric["Name"]
                    values = record[name] if isinstance(record[name], list) else [record[name]]
                    key = f"{name}/{record['currency']}" if "currency" in record else name
                    totals[key] += sum(values)
        return dict(totals)

    def dimensions(self) -> set[str]:
        return {
            d
            for r in self.records
            for ds in (x["Dimensions"] for x in r["_aws"]["CloudWatchMetrics"])
            for dl in ds
            for d in dl
        }


@pytest.fixture
def emf(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Emf:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()
    capsys.readouterr()
    return Emf(capsys)


def test_a_charge_counts_once_with_its_amount_and_a_decline_counts_as_failed(world: World, emf: Emf) -> None:
    practice = scenario.create_practice(world)
    ann = scenario.create_client(world, practice)
    scenario.save_card(world, practice, ann["id"])
    bob = scenario.create_client(world, practice, first_name="Bob", email="bob@client.test")
    scenario.save_card(world, practice, bob["id"], pm="pm_card_chargeCustomerFail")
    emf.read()
    since = len(world.stripe.events)
    status, payment = scenario.charge(world, practice, ann["id"], 2500)
    assert status == 201 and payment["status"] == "succeeded"
    delivered = world.deliver_stripe_events(since=since) - since  # the success reported again, …
    totals = emf.read()
    assert totals[contract.METRIC_CHARGES_SUCCEEDED] == 1
    assert totals[contract.METRIC_CHARGES_SUCCEEDED + "Amount/usd"] == 2500
    assert contract.METRIC_CHARGES_FAILED not in totals
    assert totals[contract.METRIC_EMAILS_SENT] == 1  # the receipt, once
    assert delivered >= 1 and totals[contract.METRIC_WEBHOOKS_APPLIED] == delivered  # each once
    assert emf.dimensions() <= {"service", "currency"}

    since = len(world.stripe.events)
    status, payment = scenario.charge(world, practice, bob["id"], 4000, key="charge-key-0002")
    assert status == 201 and payment["status"] == "declined"
    world.deliver_stripe_events(since=since)  # payment_intent.payment_failed: the same decline
    totals = emf.read()
    assert totals[contract.METRIC_CHARGES_FAILED] == 1
    assert totals[contract.METRIC_CHARGES_FAILED + "Amount/usd"] == 4000
    assert contract.METRIC_CHARGES_SUCCEEDED not in totals


def test_a_webhook_delivered_twice_counts_one_applied_and_the_duplicates(world: World, emf: Emf) -> None:
    practice = scenario.create_practice(world)
    client = scenario.create_client(world, practice)
    scenario.save_card(world, practice, client["id"])
    since = len(world.stripe.events)
    scenario.charge(world, practice, client["id"], 1000)
    event = next(e for e in world.stripe.events[since:] if e["type"] == "payment_intent.succeeded")
    emf.read()
    assert world.webhook(json.dumps(event))[1]["outcome"] == "new"
    assert world.webhook(json.dumps(event))[1]["outcome"] == "duplicate"  # Stripe delivers again
    world.drain_queue()
    world.worker([json.dumps(event)])  # SQS delivers the applied event again
    totals = emf.read()
    assert totals[contract.METRIC_WEBHOOKS_APPLIED] == 1
    assert totals[contract.METRIC_WEBHOOKS_DUPLICATE] == 2
    assert contract.METRIC_CHARGES_SUCCEEDED not in totals  # succeeded already: not counted again


def test_a_nightly_run_counts_its_items_once(world: World, emf: Emf) -> None:
    install_queue(world)
    practice = scenario.create_practice(world)
    svc = service(world, practice)
    ada = scenario.create_client(world, practice, first_name="Ada", email="ada@client.test")
    scenario.save_card(world, practice, ada["id"])
    bea = scenario.create_client(world, practice, first_name="Bea", email="bea@client.test")
    dee = scenario.create_client(world, practice, first_name="Dee", email="dee@client.test")
    insure(world, practice, dee["id"])  # no claims port: incomplete
    session_on(world, practice, ada["id"], svc, local(DAY, 9))
    session_on(world, practice, bea["id"], svc, local(DAY, 10))
    session_on(world, practice, dee["id"], svc, local(DAY, 11))
    emf.read()
    fire(world, practice.id, local(DAY, 23))
    drain(world)
    totals = emf.read()
    assert totals[contract.METRIC_NIGHTLY_RUNS_FINISHED] == 1
    assert totals[contract.METRIC_NIGHTLY_ITEMS_BILLED] == 2  # Ada charged, Bea's invoice sent
    assert totals[contract.METRIC_NIGHTLY_ITEMS_INCOMPLETE] == 1
    assert totals[contract.METRIC_NIGHTLY_ITEMS_FAILED] == 0
    assert totals[contract.METRIC_CHARGES_SUCCEEDED] == 1
    assert totals[contract.METRIC_CHARGES_SUCCEEDED + "Amount/usd"] == 12_000
    # Ada's receipt, Bea's invoice and the practice's run report.
    assert totals[contract.METRIC_EMAILS_SENT] == 3
    # A second firing the same night finds the run done: nothing counted again.
    fire(world, practice.id, local(DAY, 23, minute=30))
    drain(world)
    totals = emf.read()
    assert contract.METRIC_NIGHTLY_RUNS_FINISHED not in totals
    assert contract.METRIC_NIGHTLY_ITEMS_BILLED not in totals


def _sweep(world: World, emf: Emf, at: Any) -> float:
    world.clock.now = at
    world.handler("nightly_dispatch")(SWEEP, apigw.LambdaContext("nightly-dispatch"))
    return emf.read()[contract.METRIC_NIGHTLY_RUNS_OVERDUE]


def test_the_sweep_reports_a_run_not_done_two_hours_after_its_cutoff(
    world: World, emf: Emf, caplog: pytest.LogCaptureFixture
) -> None:
    install_queue(world)
    stuck = scenario.create_practice(world)
    done = scenario.create_practice(world, name="Done Practice")
    for practice in (stuck, done):
        svc = service(world, practice)
        client = scenario.create_client(world, practice, email="bea@client.test")
        session_on(world, practice, client["id"], svc, local(DAY, 10))
    fire(world, done.id, local(DAY, 23))
    drain(world)  # the done practice's run finishes on time
    fire(world, stuck.id, local(DAY, 23))
    purge(world)  # the stuck practice's plan is lost (parked in the DLQ, say)
    cutoff = local(DAY, 23)
    emf.read()

    assert _sweep(world, emf, cutoff + timedelta(minutes=5)) == 0  # just started
    purge(world)  # the sweep's resumption is lost too
    assert _sweep(world, emf, cutoff + timedelta(hours=2) - timedelta(minutes=1)) == 0
    purge(world)
    caplog.clear()
    assert _sweep(world, emf, cutoff + timedelta(hours=2, minutes=1)) == 1  # the stuck one only
    overdue = [r for r in caplog.records if r.getMessage() == "nightly run overdue"]
    assert len(overdue) == 1 and f"run:{stuck.id}:{DAY}" in str(overdue[0].__dict__)
    assert _sweep(world, emf, cutoff + timedelta(hours=3)) == 1  # still overdue: still reported

    drain(world)  # the resumed plan gets through: the run finishes
    assert _sweep(world, emf, cutoff + timedelta(hours=3, minutes=15)) == 0
