"""Smoke test for ``python -m bench``: it runs, and the facts it measures are the ones we rely on.

One subprocess (one run, the stripe-webhook entry module only, no -X importtime, no X12) keeps this
to seconds; the full report is ``make bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The bench subprocess is the module's fixture: under ``pytest -n 2 --dist loadgroup`` the module
# stays on one worker, so it runs once, not once per worker.
pytestmark = pytest.mark.xdist_group("bench-smoke")

ROOT = Path(__file__).resolve().parents[2]
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--runs",
            "1",
            "--no-x12",  # timed by tests/bench/test_x12_bench.py
            "--functions",
            "stripe-webhook",
            "--no-importtime",
            "--no-floors",  # timed by the runtime-Python test (tests/bench/test_runtime_python.py)
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout, json.loads(out.read_text())


def _op(results: dict[str, Any], label: str) -> dict[str, Any]:
    ops = results["requests_per_operation"]["warm_pass"]
    found = [o for o in ops if o["label"] == label]
    assert len(found) == 1, [o["label"] for o in ops]
    return found[0]


def _applied_writes(op: dict[str, Any]) -> list[str]:
    """DynamoDB writes that succeeded (a failed condition shows as '... -> <ErrorCode>')."""
    return [c for c in op["dynamodb_calls"] if c.startswith(WRITES) and "->" not in c]


def test_the_report_prints_both_parts(bench):
    stdout, results = bench
    assert "Cold start per Lambda entry module, as deployed" in stdout
    assert "Requests per operation" in stdout
    assert results["runs"] == 1


def test_the_stripe_webhook_never_imports_stripe_in_a_fresh_process_nor_on_its_first_call(bench):
    _, results = bench
    by_name = {r["name"]: r for r in results["cold_imports"]}
    webhook = by_name["stripe-webhook"]
    assert webhook["module"] == "therabill.entrypoints.stripe_webhook"
    assert webhook["stripe_imported"] is False
    for form in ("compiled", "source"):
        measured = webhook[form]
        assert len(measured["import_seconds"]) == 1 and all(s > 0 for s in measured["import_seconds"])
        assert "stripe" not in measured["loaded_after_call"]
        # The first call ran against the emulator: the unsigned sample event is refused, after the
        # signing secret was read (one Secrets Manager request).
        assert measured["outcome"] == "400" and measured["requests"] >= 1
        # The baseline imports boto3 and Powertools too: anything under it would mean a broken probe.
        assert measured["ratio_to_baseline"] > 0.8


def test_the_deployed_forms_differ_only_in_the_bytecode_they_ship(bench):
    """Nothing is written into the read-only copy: the source form compiles on every cold start."""
    _, results = bench
    baseline = results["cold_imports"][0]
    assert baseline["name"].startswith("baseline")
    assert baseline["source"]["import_ms"] > 1.3 * baseline["compiled"]["import_ms"]
    assert baseline["compiled"]["outcome"] == baseline["source"]["outcome"] == "404"


def test_a_charge_makes_exactly_one_stripe_request_and_sends_one_receipt(bench):
    _, results = bench
    op = _op(results, "charge a saved card (API call)")
    assert op["stripe_calls"] == ["POST /v1/payment_intents"]
    assert op["emails"] == 1
    assert op["dynamodb"] >= 3  # payment record, ledger, receipt outbox at least


def test_webhook_receives_never_call_stripe_and_enqueue_new_events_once(bench):
    _, results = bench
    receives = [o for o in results["requests_per_operation"]["warm_pass"] if o["step"] == "webhook receive"]
    assert len(receives) >= 4
    for op in receives:
        assert op["stripe"] == 0 and op["emails"] == 0, op
        assert op["dynamodb"] >= 1, op
    new = [o for o in receives if not o["group"].startswith("extra: duplicate")]
    assert all(o["aws_calls"].get("sqs.SendMessage") == 1 for o in new)
    duplicate = _op(results, "extra: duplicate delivery (payment_intent.succeeded): webhook receive")
    assert "sqs.SendMessage" not in duplicate["aws_calls"] and _applied_writes(duplicate) == []


def test_the_payment_succeeded_replay_changes_nothing_but_the_event_record(bench):
    _, results = bench
    op = _op(results, "payment_intent.succeeded (replay): worker")
    assert op["stripe"] == 0 and op["emails"] == 0
    assert [w.split()[1].split("#")[0] for w in _applied_writes(op)] == ["STRIPEEVT"], op["dynamodb_calls"]


def test_reads_only_read(bench):
    _, results = bench
    for label in ("read ledger", "open set-up page"):
        op = _op(results, label)
        assert op["stripe"] == 0 and op["dynamodb"] >= 1
        assert _applied_writes(op) == [] and not any(c.startswith(WRITES) for c in op["dynamodb_calls"])


def test_the_adapter_count_matches_the_dynamodb_calls_botocore_made(bench):
    _, results = bench
    assert results["requests_per_operation"]["count_mismatches"] == []
