"""The whole local system, started the way a developer starts it (``devstack.run.start_stack``) on
free ports: moto server, the localstripe launcher, the gateway, the SQS poller and the scheduler,
with the real handlers. Single functions are swapped for recorders where a test needs to see
exactly what a function receives."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from devstack.functions import local_function_arn
from devstack.run import DEMO_PRACTICE_ID, Stack
from devstack.scheduler import LOCAL_SCHEDULER_ROLE_ARN

from tests.devstack.stacks import module_stack
from therabill import contract

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("local-stack"),  # one stack per process: keep these on one worker
    pytest.mark.skipif(
        importlib.util.find_spec("therabill.entrypoints.staff_api") is None,
        reason="the staff API entry point is not written yet",
    ),
]


class Recorder:
    """A stand-in handler that keeps what it was given; thread-safe, with a wait."""

    def __init__(self, respond: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.calls: list[tuple[float, Any]] = []
        self._respond = respond
        self._changed = threading.Condition()

    def __call__(self, event: Any, context: Any) -> Any:
        with self._changed:
            self.calls.append((time.time(), event))
            self._changed.notify_all()
        return self._respond(event) if self._respond else {"statusCode": 200, "body": "{}"}

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 10.0) -> tuple[float, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for when, event in self.calls:
                    if predicate(event):
                        return when, event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching call within {timeout}s: {self.calls!r}")
                self._changed.wait(remaining)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from module_stack(tmp_path_factory, scheduler_refresh_seconds=0.5)


@pytest.fixture
def swap(stack: Stack) -> Iterator[Callable[[str, Recorder], Recorder]]:
    """Replace a function's handler for one test."""
    swapped: list[str] = []

    def install(name: str, recorder: Recorder) -> Recorder:
        stack.registry.set_override(name, recorder)
        swapped.append(name)
        return recorder

    yield install
    for name in swapped:
        stack.registry.set_override(name, None)


def stripe_post(stack: Stack, path: str, data: dict[str, Any], account: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {stack.secrets[contract.SECRET_STRIPE_SECRET_KEY]}"}
    if account:
        headers["Stripe-Account"] = account
    response = requests.post(f"{stack.localstripe_url}{path}", data=data, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def verify_stripe_signature(payload: bytes, header: str, secret: str) -> None:
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + payload, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "bad Stripe-Signature"
    assert abs(time.time() - int(parts["t"])) < 300


def webhook_payload(event: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()


# ---------------------------------------------------------------------------------- gateway
def test_gateway_answers_and_state_is_written(stack: Stack) -> None:
    health = requests.get(f"{stack.gateway_url}/_local/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    state = json.loads(stack.state_path.read_text())
    assert state["gateway_url"] == stack.gateway_url
    assert state["webhook_secret"].startswith("whsec_")
    assert state["demo_practice_id"] == DEMO_PRACTICE_ID


def test_staff_api_without_a_token_is_401(stack: Stack) -> None:
    response = requests.post(f"{stack.gateway_url}/practice", json={"name": "x"}, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message": "Unauthorized", "details": {}}


def test_demo_practice_is_seeded_through_the_staff_api(stack: Stack) -> None:
    assert stack.state["demo_practice"]["status"] in ("created", "exists"), stack.state["demo_practice"]
    response = requests.get(
        f"{stack.gateway_url}/practice",
        timeout=10,
        headers={"Authorization": f"Bearer {stack.state['staff_token']}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Demo Therapy Group"


# ---------------------------------------------------------------------------------- Stripe
def test_connect_onboarding_sends_a_signed_account_updated_to_the_webhook(
    stack: Stack, swap: Callable[[str, Recorder], Recorder]
) -> None:
    webhook = swap("stripe-webhook", Recorder())
    # Given a connected account that has not finished onboarding
    account = stripe_post(
        stack, "/v1/accounts", {"type": "standard", "country": "US", "email": "owner@p.localhost"}
    )
    assert account["id"].startswith("acct_")
    assert (account["charges_enabled"], account["payouts_enabled"], account["details_submitted"]) == (
        False,
        False,
        False,
    )
    link = stripe_post(
        stack,
        "/v1/account_links",
        {
            "account": account["id"],
            "type": "account_onboarding",
            "refresh_url": f"{stack.gateway_url}/r",
            "return_url": f"{stack.gateway_url}/done",
        },
    )
    # When the owner visits the onboarding link
    visit = requests.get(link["url"], allow_redirects=False, timeout=5)
    assert visit.status_code == 302 and visit.headers["Location"] == f"{stack.gateway_url}/done"
    # Then localstripe delivers a signed account.updated for that account to the webhook path
    _, event = webhook.wait_for(lambda e: b"account.updated" in webhook_payload(e), timeout=10)
    assert event["path"] == contract.WEBHOOK_PATH and event["httpMethod"] == "POST"
    payload = webhook_payload(event)
    verify_stripe_signature(payload, event["headers"]["Stripe-Signature"], stack.webhook_secret)
    body = json.loads(payload)
    assert body["type"] == "account.updated"
    assert body["account"] == account["id"]
    assert body["data"]["object"]["charges_enabled"] is True
    assert body["data"]["previous_attributes"]["charges_enabled"] is False
    retrieved = requests.get(
        f"{stack.localstripe_url}/v1/accounts/{account['id']}",
        timeout=5,
        auth=(stack.secrets[contract.SECRET_STRIPE_SECRET_KEY], ""),
    ).json()
    assert retrieved["details_submitted"] is True


def test_events_under_a_connected_account_carry_the_account(
    stack: Stack, swap: Callable[[str, Recorder], Recorder]
) -> None:
    webhook = swap("stripe-webhook", Recorder())
    customer = stripe_post(stack, "/v1/customers", {"email": "c@p.localhost"}, account="acct_local1")
    _, event = webhook.wait_for(lambda e: customer["id"].encode() in webhook_payload(e))
    body = json.loads(webhook_payload(event))
    assert body["type"] == "customer.created" and body["account"] == "acct_local1"


def test_localstripe_takes_the_parameters_real_stripe_takes(stack: Stack) -> None:
    account = "acct_local2"
    customer = stripe_post(stack, "/v1/customers", {"email": "c@p.localhost"}, account=account)
    setup = stripe_post(
        stack,
        "/v1/setup_intents",
        {
            "customer": customer["id"],
            "usage": "off_session",
            "description": "Card on file",
            "automatic_payment_methods[enabled]": "true",
            "automatic_payment_methods[allow_redirects]": "never",
        },
        account=account,
    )
    assert setup["description"] == "Card on file"
    setup = stripe_post(
        stack, f"/v1/setup_intents/{setup['id']}/confirm", {"payment_method": "pm_card_visa"}, account=account
    )
    assert setup["status"] == "succeeded"
    intent = stripe_post(
        stack,
        "/v1/payment_intents",
        {
            "amount": "12500",
            "currency": "usd",
            "customer": customer["id"],
            "payment_method": setup["payment_method"],
            "confirm": "true",
            "off_session": "true",
            "description": "Therapy services",
            "statement_descriptor_suffix": "DEMO",
            "application_fee_amount": "125",
            "metadata[therabill_payment_id]": "pay_1",
        },
        account=account,
    )
    assert intent["status"] == "succeeded"
    assert (
        intent["description"],
        intent["statement_descriptor_suffix"],
        intent["application_fee_amount"],
    ) == ("Therapy services", "DEMO", 125)


def test_localstripe_declines_like_stripe_and_replays_idempotent_requests(stack: Stack) -> None:
    account = "acct_local3"
    customer = stripe_post(stack, "/v1/customers", {"email": "d@p.localhost"}, account=account)
    headers = {
        "Authorization": f"Bearer {stack.secrets[contract.SECRET_STRIPE_SECRET_KEY]}",
        "Stripe-Account": account,
        "Idempotency-Key": f"decline-{uuid.uuid4()}",
    }
    params = {
        "amount": "100",
        "currency": "usd",
        "customer": customer["id"],
        "payment_method": "pm_card_visa_chargeDeclined",  # 4000000000000002
        "confirm": "true",
        "off_session": "true",
        "allowed_payment_method_types[0]": "card",
    }
    url = f"{stack.localstripe_url}/v1/payment_intents"
    # When an off-session charge on a declining card is attempted
    declined = requests.post(url, data=params, headers=headers, timeout=10)
    # Then it is a 402 card error with Stripe's codes and the failed PaymentIntent
    assert declined.status_code == 402
    error = declined.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert error["payment_intent"]["allowed_payment_method_types"] == ["card"]
    # and a retry with the same Idempotency-Key replays it instead of charging again
    replayed = requests.post(url, data=params, headers=headers, timeout=10)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.json() == declined.json()
    # while the same key with other parameters is refused
    other = requests.post(url, data={**params, "amount": "200"}, headers=headers, timeout=10)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


# ---------------------------------------------------------------------------------- SQS poller
def _queue_counts(stack: Stack, queue_url: str) -> tuple[int, int]:
    attributes = (
        stack.boto3_session()
        .client("sqs")
        .get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    )
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def test_poller_deletes_handled_messages_and_keeps_failed_ones(
    stack: Stack, swap: Callable[[str, Recorder], Recorder]
) -> None:
    tag = uuid.uuid4().hex

    def fail_marked(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"].startswith("fail")
            ]
        }

    worker = swap("stripe-worker", Recorder(fail_marked))
    queue_url = stack.resources.stripe_events_queue_url
    sqs = stack.boto3_session().client("sqs")
    # Given one message the worker handles and one it fails
    ok_id = sqs.send_message(QueueUrl=queue_url, MessageBody=f"ok-{tag}")["MessageId"]
    fail_id = sqs.send_message(QueueUrl=queue_url, MessageBody=f"fail-{tag}")["MessageId"]

    def record(message_id: str) -> dict[str, Any]:
        _, event = worker.wait_for(lambda e: any(r["messageId"] == message_id for r in e["Records"]))
        return next(r for r in event["Records"] if r["messageId"] == message_id)

    ok_record, fail_record = record(ok_id), record(fail_id)
    # Then the worker saw real SQS records, as Lambda delivers them
    assert ok_record["body"] == f"ok-{tag}"
    assert ok_record["attributes"]["ApproximateReceiveCount"] == "1"
    assert ok_record["eventSource"] == "aws:sqs"
    assert ok_record["eventSourceARN"].endswith(":therabill-local-stripe-events")
    assert not ok_record["receiptHandle"].startswith("rh-")
    # and the failed one is still in the queue, in flight until its visibility timeout (other
    # tests share this stack's queue, so count at least one rather than exactly one)
    deadline = time.monotonic() + 5
    while _queue_counts(stack, queue_url)[1] < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _queue_counts(stack, queue_url)[1] >= 1
    # When it keeps failing, it comes back each time it becomes visible, then goes to the DLQ
    receipt = fail_record["receiptHandle"]
    seen = 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
        try:
            _, event = worker.wait_for(
                lambda e, seen=seen: any(
                    r["messageId"] == fail_id and int(r["attributes"]["ApproximateReceiveCount"]) > seen
                    for r in e["Records"]
                ),
                timeout=3,
            )
        except AssertionError:
            break  # not delivered again: moved to the dead-letter queue
        record_again = next(r for r in event["Records"] if r["messageId"] == fail_id)
        seen, receipt = (
            int(record_again["attributes"]["ApproximateReceiveCount"]),
            record_again["receiptHandle"],
        )
    assert seen == contract.STRIPE_EVENTS_MAX_RECEIVES
    # The handled message was deleted: the worker never saw it again.
    ok_deliveries = [r for _, e in worker.calls for r in e["Records"] if r["messageId"] == ok_id]
    assert len(ok_deliveries) == 1
    dlq = sqs.receive_message(
        QueueUrl=stack.resources.stripe_events_dlq_url, WaitTimeSeconds=2, MaxNumberOfMessages=10
    )
    assert [m["Body"] for m in dlq.get("Messages", [])] == [f"fail-{tag}"]


def test_webhook_event_reaches_the_worker_through_the_queue(
    stack: Stack, swap: Callable[[str, Recorder], Recorder]
) -> None:
    # The real webhook handler verifies, records and enqueues; the worker gets the raw event.
    worker = swap("stripe-worker", Recorder(lambda e: {"batchItemFailures": []}))
    account = stripe_post(stack, "/v1/accounts", {"type": "standard", "country": "US"})
    link = stripe_post(stack, "/v1/account_links", {"account": account["id"], "type": "account_onboarding"})
    assert requests.get(link["url"], timeout=5).status_code == 200
    _, event = worker.wait_for(lambda e: any(account["id"] in r["body"] for r in e["Records"]), timeout=15)
    body = json.loads(next(r["body"] for r in event["Records"] if account["id"] in r["body"]))
    assert body["type"] == "account.updated" and body["account"] == account["id"]


# ---------------------------------------------------------------------------------- scheduler
def test_scheduler_fires_a_schedule_created_in_moto_at_its_time(
    stack: Stack, swap: Callable[[str, Recorder], Recorder]
) -> None:
    target = swap("payments-reconciler", Recorder(lambda e: {"ok": True}))
    scheduler = stack.boto3_session().client("scheduler")
    marker = uuid.uuid4().hex
    # Given a one-time schedule a few seconds ahead, written in New York time
    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    local = due.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M:%S")
    common = {
        "GroupName": contract.SCHEDULE_GROUP_NAME,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ScheduleExpression": f"at({local})",
        "ScheduleExpressionTimezone": "America/New_York",
    }
    scheduler.create_schedule(
        Name=f"once-{marker}",
        ActionAfterCompletion="DELETE",
        **common,
        Target={
            "Arn": local_function_arn("payments-reconciler"),
            "RoleArn": LOCAL_SCHEDULER_ROLE_ARN,
            "Input": json.dumps({"marker": marker, "at": "<aws.scheduler.scheduled-time>"}),
        },
    )
    # and a disabled one at the same time
    scheduler.create_schedule(
        Name=f"off-{marker}",
        State="DISABLED",
        **common,
        Target={
            "Arn": local_function_arn("payments-reconciler"),
            "RoleArn": LOCAL_SCHEDULER_ROLE_ARN,
            "Input": json.dumps({"marker": f"off-{marker}"}),
        },
    )
    stack.scheduler.wake()  # read the schedules now rather than at the next refresh
    # Then the enabled one fires at its time, with its Input (context attributes filled in)
    fired_at, event = target.wait_for(lambda e: isinstance(e, dict) and e.get("marker") == marker, timeout=12)
    assert fired_at >= due.timestamp()
    assert fired_at < due.timestamp() + 3
    assert event["at"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
    # and, being one-time with ActionAfterCompletion=DELETE, is then deleted
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        names = [
            s["Name"] for s in scheduler.list_schedules(GroupName=contract.SCHEDULE_GROUP_NAME)["Schedules"]
        ]
        if f"once-{marker}" not in names:
            break
        time.sleep(0.2)
    assert f"once-{marker}" not in names
    time.sleep(1)
    assert not [e for _, e in target.calls if isinstance(e, dict) and e.get("marker") == f"off-{marker}"]


def test_contract_schedules_are_installed_and_can_be_fired_now(
    stack: Stack, swap: Callable[[str, Recorder], Recorder]
) -> None:
    target = swap("payments-reconciler", Recorder(lambda e: {"reconciled": 0}))
    scheduler = stack.boto3_session().client("scheduler")
    for name, expression, function in contract.SCHEDULES:
        schedule = scheduler.get_schedule(Name=name, GroupName=contract.SCHEDULE_GROUP_NAME)
        assert schedule["ScheduleExpression"] == expression
        assert schedule["Target"]["Arn"] == local_function_arn(function)
    response = requests.post(f"{stack.gateway_url}/_local/schedules/payments-reconciler/fire", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {"reconciled": 0}
    target.wait_for(lambda e: e == {"schedule": "payments-reconciler"})
    listed = requests.get(f"{stack.gateway_url}/_local/schedules", timeout=5).json()
    assert any(s["name"] == "payments-reconciler" and s["next_fire"] for s in listed)
    assert requests.post(f"{stack.gateway_url}/_local/schedules/nope/fire", timeout=5).status_code == 404


# ---------------------------------------------------------------------------------- email
def test_sent_email_is_readable(stack: Stack) -> None:
    ses = stack.boto3_session().client("ses")
    to = f"client-{uuid.uuid4().hex[:8]}@example.localhost"
    raw = (
        f"From: {stack.resources.email_sender}\r\nTo: {to}\r\nSubject: Your receipt\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThank you.\r\n"
    )
    ses.send_raw_email(
        Source=stack.resources.email_sender, Destinations=[to], RawMessage={"Data": raw.encode()}
    )
    emails = requests.get(f"{stack.gateway_url}/_local/emails", params={"to": to}, timeout=10).json()
    assert len(emails) == 1
    assert emails[0]["subject"] == "Your receipt"
    assert emails[0]["to"] == [to]
    assert emails[0]["from"] == stack.resources.email_sender
    assert emails[0]["text"].strip() == "Thank you."
    assert "Subject: Your receipt" in emails[0]["raw"]
