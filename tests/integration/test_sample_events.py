"""The sample events in events/ (one per trigger) run through the real handlers and do what a
reader of them would expect. They are the same files used for local invocation."""

import json
from datetime import UTC, datetime
from pathlib import Path

from devstack.apigw import LambdaContext

from tests.integration.conftest import WEBHOOK_SECRET
from therabill.core import keys
from therabill.payments.gateway import AccountState
from therabill.practices.store import PracticeStore
from therabill.webhooks import signature

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name):
    return json.loads((EVENTS / name).read_text())


def run(world, module, event):
    response = world.handler(module)(event, LambdaContext(module))
    return response


def test_every_trigger_has_a_sample_event():
    names = {p.relative_to(EVENTS).as_posix() for p in EVENTS.rglob("*.json")}
    assert {
        "api/staff_create_practice.json",
        "api/public_setup_page.json",
        "api/stripe_webhook.json",
        "sqs/stripe_events_batch.json",
        "scheduler/payments_reconciler.json",
    } <= names


def test_staff_samples_create_and_read(world):
    world.admit(load("api/staff_create_practice.json"))  # the samples' staff member
    assert run(world, "staff_api", load("api/staff_create_practice.json"))["statusCode"] == 201
    assert run(world, "staff_api", load("api/staff_get_practice.json"))["statusCode"] == 200
    assert run(world, "staff_api", load("api/staff_create_client.json"))["statusCode"] == 201
    listed = run(world, "staff_api", load("api/staff_list_clients.json"))
    assert listed["statusCode"] == 200 and len(json.loads(listed["body"])["items"]) == 1
    # The charge sample names a client that does not exist in this practice.
    assert run(world, "staff_api", load("api/staff_charge.json"))["statusCode"] == 404


def test_the_public_sample_with_a_forged_token_gets_a_page_not_a_crash(world):
    response = run(world, "public_api", load("api/public_setup_page.json"))
    assert response["statusCode"] == 401 and "<html" in response["body"]


def test_the_webhook_sample_is_accepted_once_signed(world):
    event = load("api/stripe_webhook.json")
    assert run(world, "stripe_webhook", event)["statusCode"] == 400  # the placeholder signature
    now = int(world.clock().timestamp())
    event["headers"]["Stripe-Signature"] = signature.sign(WEBHOOK_SECRET, event["body"].encode(), now)
    assert run(world, "stripe_webhook", event)["statusCode"] == 200


def test_the_sqs_sample_is_deferred_until_its_consent_exists(world):
    world.admit(load("api/staff_create_practice.json"))
    run(world, "staff_api", load("api/staff_create_practice.json"))
    batch = load("sqs/stripe_events_batch.json")
    event = json.loads(batch["Records"][0]["body"])
    # Before any practice has the event's account, the event is not ours: acknowledged, ignored.
    assert run(world, "stripe_worker", batch) == {"batchItemFailures": []}
    practices = world.container.practices
    practice = practices.get(event["data"]["object"]["metadata"]["therabill_practice_id"])
    PracticeStore(world.container.table).connect_account(
        practice.id,
        AccountState(id=event["account"], charges_enabled=True, payouts_enabled=True, details_submitted=True),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    world.container.table.delete(keys.stripe_event_pk(event["id"]), keys.STRIPE_EVENT_SK)
    result = run(world, "stripe_worker", batch)
    assert result == {"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]}


def test_the_scheduler_sample_runs_the_reconciler(world):
    result = run(world, "payments_reconciler", load("scheduler/payments_reconciler.json"))
    assert result == {"retried": 0, "expired": 0, "skipped": 0, "errors": 0}


def test_the_audit_stream_sample_archives_its_record(world):
    result = run(world, "audit_archive", load("dynamodb/audit_record_inserted.json"))
    assert result == {"batchItemFailures": []}
    s3 = world.session.client("s3")
    (obj,) = s3.list_objects_v2(Bucket=world.resources.audit_archive_bucket)["Contents"]
    assert obj["Key"] == "audit/prc_01jd0000000000000000000000/2026/11/20/aud_01jd0000000000000000000001.json"
