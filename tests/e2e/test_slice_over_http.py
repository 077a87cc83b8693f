"""The slice end to end over HTTP against the whole local system: the steps of ``make demo``
(``devstack.demo.run_demo``), asserted one by one, then what the demo does not show: a replayed
webhook delivery changes nothing, and another practice's token cannot reach the client."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from devstack.demo import DemoResult, run_demo
from devstack.run import Stack
from devstack.slice import DEFAULT_USER_AGENT, Slice

from tests.e2e.conftest import STACK_GROUP, Tap

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(STACK_GROUP)]

ID = re.compile(r"^[a-z]{2,5}_[0-9a-hjkmnp-tv-z]{26}$")


@pytest.fixture(scope="module")
def demo(stack: Stack, taps: dict[str, Tap]) -> DemoResult:
    lines: list[str] = []
    started = time.monotonic()
    try:
        result = run_demo(stack.gateway_url, lines.append)
    finally:
        print("\n".join(lines))
    print(f"demo took {time.monotonic() - started:.1f}s")
    return result


def _webhook_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


def _header(event: dict[str, Any], name: str) -> str:
    return str(next(v for k, v in event["headers"].items() if k.lower() == name.lower()))


def _localstripe_origin(stack: Stack) -> str:
    parts = urlsplit(stack.localstripe_url)
    return f"{parts.scheme}://{parts.netloc}"


# ------------------------------------------------------------------------------- the demo's steps
def test_a_new_practice_is_connected_through_the_onboarding_link(stack: Stack, demo: DemoResult) -> None:
    assert ID.match(demo.practice["id"]) and demo.practice["id"].startswith("prc_")
    assert demo.practice["stripe"] is None  # not connected when created
    assert demo.onboarding_url.startswith(stack.localstripe_url + "/_local/connect/onboard/acct_")
    assert demo.onboarding_status == 302
    stripe = demo.connected["stripe"]
    assert stripe["account_id"].startswith("acct_")
    assert (stripe["charges_enabled"], stripe["payouts_enabled"], stripe["details_submitted"]) == (
        True,
        True,
        True,
    )


def test_the_card_is_saved_through_the_public_page_and_stripe_js(stack: Stack, demo: DemoResult) -> None:
    assert demo.visa is not None
    page = demo.visa.page
    assert page.status == 200
    assert page.url.startswith(stack.gateway_url + "/setup/")
    assert page.stripe_js_url == f"{stack.localstripe_url}/js.stripe.com/v3/"
    assert page.localstripe_url == stack.localstripe_url
    assert page.headers["Cache-Control"] == "no-store"
    origin = _localstripe_origin(stack)
    directives = {d.split()[0]: d.split()[1:] for d in page.csp.split(";") if d.strip()}
    assert origin in directives["script-src"] and origin in directives["connect-src"], page.csp
    assert demo.visa.intent["stripe_account"] == demo.connected["stripe"]["account_id"]
    assert demo.visa.intent["publishable_key"] == stack.state["stripe_publishable_key"]
    assert demo.visa.setup_intent["status"] == "succeeded" and demo.visa.authenticated is False
    card = demo.visa.card
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == ("visa", "4242", 12, 2034)
    assert card["is_default"] is True and card["owner_id"] == demo.client["id"]


def test_the_consent_evidence_names_the_signer_the_text_and_the_request(demo: DemoResult) -> None:
    assert demo.visa is not None
    evidence = demo.evidence
    consent = evidence["consent"]
    assert evidence["practice"]["id"] == demo.practice["id"]
    assert evidence["card"]["id"] == demo.visa.card["id"] and evidence["card"]["last4"] == "4242"
    assert consent["status"] == "active" and consent["activated_at"]
    assert consent["signer_name"] == "Ann Client"
    assert consent["text_version"] == demo.visa.page.consent_version
    assert consent["text"] and consent["text"] in demo.visa.page.html.replace("&#x27;", "'")
    assert consent["user_agent"] == DEFAULT_USER_AGENT
    assert consent["ip_address"] == "127.0.0.1"
    assert consent["setup_intent_id"] == demo.visa.intent["client_secret"].split("_secret_")[0]
    assert consent["scope"]["kinds"] == ["copay", "session_fee", "cancellation_fee", "balance"]


def test_the_charge_succeeds_posts_to_the_ledger_once_and_is_idempotent(demo: DemoResult) -> None:
    payment = demo.payment
    assert payment["status"] == "succeeded"
    assert (payment["amount"], payment["currency"], payment["kind"]) == (2500, "usd", "copay")
    assert payment["payment_intent_id"].startswith("pi_")
    assert demo.visa is not None and payment["card_id"] == demo.visa.card["id"]
    entries = [e for e in demo.ledger["entries"] if e["payment_id"] == payment["id"]]
    assert [(e["kind"], e["amount"], e["signed_amount"]) for e in entries] == [("payment", 2500, -2500)]
    # The same request again (a retry): the same payment, nothing posted twice.
    s = demo.slice
    again = s.charge(demo.client["id"], 2500, kind="copay", key=demo.charge_key)
    assert (again["id"], again["status"]) == (payment["id"], "succeeded")
    status, body = s.staff_status(
        "POST",
        f"/clients/{demo.client['id']}/charges",
        {"amount": 9900, "kind": "copay"},
        headers={"Idempotency-Key": demo.charge_key},
    )
    assert status == 409, body
    ledger = s.ledger(demo.client["id"])
    assert [e["payment_id"] for e in ledger["entries"]] == [payment["id"]]
    assert ledger["balance"] == -2500


def test_one_receipt_is_emailed_to_the_client(demo: DemoResult) -> None:
    receipt = demo.receipt
    assert receipt["subject"] == f"Receipt from {demo.practice['name']}: USD 25.00"
    assert demo.payment["id"] in receipt["text"] and "4242" in receipt["text"]
    receipts = [m for m in demo.slice.emails(demo.client["email"]) if m["subject"].startswith("Receipt")]
    assert len(receipts) == 1


def test_a_declined_card_is_recorded_with_its_decline_code(demo: DemoResult) -> None:
    assert demo.declined_card is not None
    assert demo.declined_card.card["last4"] == "0341" and demo.declined_card.card["is_default"] is False
    declined = demo.declined
    assert declined["status"] == "declined"
    assert (declined["error_code"], declined["decline_code"]) == ("card_declined", "generic_decline")
    assert declined["card_id"] == demo.declined_card.card["id"]
    fetched = demo.slice.staff("GET", f"/clients/{demo.client['id']}/payments/{declined['id']}")
    assert (fetched["status"], fetched["decline_code"]) == ("declined", "generic_decline")
    assert declined["id"] not in {e["payment_id"] for e in demo.slice.ledger(demo.client["id"])["entries"]}


def test_authentication_required_emails_a_link_whose_page_opens(stack: Stack, demo: DemoResult) -> None:
    assert demo.auth_card is not None and demo.auth_card.authenticated is True
    assert demo.needs_action["status"] == "requires_action"
    assert demo.needs_action["error_code"] == "authentication_required"
    assert demo.auth_email["subject"].startswith("Please confirm your payment of USD 40.00")
    assert demo.auth_url.startswith(stack.gateway_url + "/pay/authenticate/")
    assert demo.auth_page_status == 200
    page = requests.get(demo.auth_url, timeout=10)
    assert page.status_code == 200 and "USD 40.00" in page.text and "confirmCardPayment" in page.text
    assert _localstripe_origin(stack) in page.headers["Content-Security-Policy"]
    mails = demo.slice.emails(demo.client["email"])
    assert len([m for m in mails if m["subject"].startswith("Please confirm")]) == 1


# ------------------------------------------------------------------------------- beyond the demo
def test_a_replayed_webhook_delivery_changes_nothing(
    stack: Stack, demo: DemoResult, taps: dict[str, Tap]
) -> None:
    client_id, payment = demo.client["id"], demo.payment
    s = demo.slice
    assert demo.visa is not None
    setup_intent_id = demo.visa.intent["client_secret"].split("_secret_")[0]
    deliveries = {
        kind: taps["stripe-webhook"].wait_for(
            lambda e, kind=kind, ref=ref: (
                (body := json.loads(_webhook_body(e)))["type"] == kind and body["data"]["object"]["id"] == ref
            )
        )
        for kind, ref in (
            ("payment_intent.succeeded", payment["payment_intent_id"]),
            ("setup_intent.succeeded", setup_intent_id),
        )
    }
    # Let the original deliveries be processed before taking the picture.
    time.sleep(1.5)
    ledger_before = s.ledger(client_id)
    cards_before = s.cards(client_id)
    mails_before = s.emails(demo.client["email"])
    worker_calls_before = len(taps["stripe-worker"].snapshot())

    for kind, event in deliveries.items():
        replay = requests.post(
            stack.gateway_url + "/webhooks/stripe",
            data=_webhook_body(event),
            headers={
                "Stripe-Signature": _header(event, "Stripe-Signature"),
                "Content-Type": "application/json",
            },
            timeout=10,
        )
        assert replay.status_code == 200, (kind, replay.text)
        assert replay.json() == {"received": True, "outcome": "duplicate"}, kind

    time.sleep(2.0)  # more than a poller cycle: anything enqueued would have reached the worker
    replayed_ids = {json.loads(_webhook_body(e))["id"] for e in deliveries.values()}
    later_batches = taps["stripe-worker"].snapshot()[worker_calls_before:]
    assert not [b for b in later_batches if any(i in json.dumps(b) for i in replayed_ids)]
    assert s.ledger(client_id) == ledger_before
    assert s.cards(client_id) == cards_before
    mails_after = s.emails(demo.client["email"])
    assert [m["id"] for m in mails_after] == [m["id"] for m in mails_before]
    assert len([m for m in mails_after if m["subject"].startswith("Receipt")]) == 1

    # A tampered copy of the same delivery is refused outright.
    body = _webhook_body(deliveries["payment_intent.succeeded"]).replace(b'"amount": 2500', b'"amount": 2')
    tampered = requests.post(
        stack.gateway_url + "/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": _header(deliveries["payment_intent.succeeded"], "Stripe-Signature")},
        timeout=10,
    )
    assert tampered.status_code == 400 and tampered.json()["code"] == "bad_signature"


def test_another_practice_gets_404_for_the_first_practice_client(stack: Stack, demo: DemoResult) -> None:
    other = Slice(stack.gateway_url)
    other.new_practice(f"Other Practice {uuid.uuid4().hex[:6]}", "other@practice.example.com")
    client_id = demo.client["id"]
    assert demo.visa is not None
    card_id = demo.visa.card["id"]
    for method, path, body, headers in (
        ("GET", f"/clients/{client_id}", None, {}),
        ("GET", f"/clients/{client_id}/cards", None, {}),
        ("GET", f"/clients/{client_id}/cards/{card_id}/consent", None, {}),
        ("GET", f"/clients/{client_id}/ledger", None, {}),
        ("GET", f"/clients/{client_id}/payments/{demo.payment['id']}", None, {}),
        ("POST", f"/clients/{client_id}/setup-links", {"scope": {"kinds": ["copay"]}}, {}),
        (
            "POST",
            f"/clients/{client_id}/charges",
            {"amount": 100, "kind": "copay", "card_id": card_id},
            {"Idempotency-Key": f"other-{uuid.uuid4()}"},
        ),
    ):
        status, answer = other.staff_status(method, path, body, headers=headers)
        assert status == 404, (method, path, status, answer)
    assert client_id not in {c["id"] for c in other.staff("GET", "/clients")["items"]}
    # ...while the first practice still sees it, unchanged.
    assert demo.slice.staff("GET", f"/clients/{client_id}")["id"] == client_id
    assert [e["payment_id"] for e in demo.slice.ledger(client_id)["entries"]] == [demo.payment["id"]]
