"""FakeStripe's own behaviour, checked against what Stripe documents (docs.stripe.com), through the
real SDK. Scenarios that localstripe can also answer live in test_stripe_gateway_contract.py;
these are the ones it cannot (idempotency, Connect scoping, versions, faults, webhooks)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from tests.fakes.fake_stripe import PM_ALIASES, FakeStripe, parse_form

KEY = "sk_test_fake_contract"


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def account(fake: FakeStripe) -> str:
    return fake.create_connected_account()


def _client(fake: FakeStripe, account: str | None = None, *, retries: int = 0) -> Any:
    return fake.client(KEY, stripe_account=account, max_network_retries=retries).v1


def _saved_card(fake: FakeStripe, account: str, customer_id: str, alias: str = "pm_card_visa") -> str:
    v1 = _client(fake, account)
    intent = v1.setup_intents.create({"customer": customer_id, "usage": "off_session"})
    confirmed = v1.setup_intents.confirm(intent.id, {"payment_method": alias})
    assert confirmed.status == "succeeded"
    return str(confirmed.payment_method)


# ------------------------------------------------------------------------------- parameters


def test_form_encoding_is_parsed_into_nested_params() -> None:
    parsed = parse_form("a=1&metadata[k]=v&metadata[x]=&list[0]=p&list[1]=q&arr[]=r&arr[]=s&o[n][0][k]=z")

    assert parsed == {
        "a": "1",
        "metadata": {"k": "v", "x": ""},
        "list": ["p", "q"],
        "arr": ["r", "s"],
        "o": {"n": [{"k": "z"}]},
    }


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"amount": 500, "currency": "usd", "colour": "teal"}, "parameter_unknown", "colour"),
        (
            {"amount": 500, "currency": "usd", "metadata": {"k": "v"}, "capture_method": "soon"},
            None,
            "capture_method",
        ),
        ({"currency": "usd"}, "parameter_missing", "amount"),
        ({"amount": "five", "currency": "usd"}, "parameter_invalid_integer", "amount"),
        (
            {"amount": 500, "currency": "usd", "payment_method_options": {}, "confirm": "yes"},
            "parameter_invalid_boolean",
            "confirm",
        ),
        ({"amount": 10, "currency": "usd"}, "amount_too_small", "amount"),
        (
            {"amount": 500, "currency": "usd", "payment_method_types": ["card"]},
            "payment_method_types_no_longer_supported",
            "payment_method_types",
        ),
    ],
)
def test_bad_params_are_400s_with_stripes_codes(
    fake: FakeStripe, account: str, params: dict[str, Any], code: str | None, param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _client(fake, account).payment_intents.create(params)

    assert raised.value.http_status == 400
    assert raised.value.code == code
    assert raised.value.param == param


def test_nested_unknown_params_name_their_path(fake: FakeStripe) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _client(fake).accounts.create(
            {"country": "US", "controller": {"fees": {"payer": "account", "who": "x"}}}
        )

    assert raised.value.param == "controller[fees][who]"


def test_payment_method_types_is_still_writable_before_endive(fake: FakeStripe, account: str) -> None:
    client = stripe.StripeClient(
        KEY, stripe_account=account, http_client=fake.http_client(), stripe_version="2026-03-25.dahlia"
    )

    intent = client.v1.payment_intents.create(
        {"amount": 500, "currency": "usd", "payment_method_types": ["card"]}
    )
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(
            {"amount": 500, "currency": "usd", "allowed_payment_method_types": ["card"]}
        )

    assert list(intent.payment_method_types) == ["card"]
    assert raised.value.code == "parameter_unknown"  # added in 2026-07-29.dahlia


# ------------------------------------------------------------------------------- Connect


def test_objects_live_on_the_account_that_created_them(fake: FakeStripe, account: str) -> None:
    other = fake.create_connected_account()
    customer = _client(fake, account).customers.create({"email": "a@example.com"})

    with pytest.raises(stripe.InvalidRequestError) as on_other:
        _client(fake, other).customers.retrieve(customer.id)
    with pytest.raises(stripe.InvalidRequestError) as on_platform:
        _client(fake).customers.retrieve(customer.id)

    assert (on_other.value.http_status, on_other.value.code) == (404, "resource_missing")
    assert on_platform.value.http_status == 404


def test_an_account_the_platform_does_not_have_is_refused(fake: FakeStripe) -> None:
    with pytest.raises(stripe.PermissionError):
        _client(fake, "acct_1NoSuchAccount00").customers.create({})


def test_application_fee_needs_a_direct_charge(fake: FakeStripe, account: str) -> None:
    params = {"amount": 1000, "currency": "usd", "application_fee_amount": 100}

    direct = _client(fake, account).payment_intents.create(params)
    with pytest.raises(stripe.InvalidRequestError) as on_platform:
        _client(fake).payment_intents.create(params)

    assert direct.application_fee_amount == 100
    assert on_platform.value.param == "application_fee_amount"


def test_onboarding_enables_charges_and_emits_a_connect_event(fake: FakeStripe) -> None:
    account_id = (
        _client(fake)
        .accounts.create({"country": "US", "controller": {"stripe_dashboard": {"type": "full"}}})
        .id
    )
    assert not _client(fake).accounts.retrieve(account_id).charges_enabled

    fake.complete_onboarding(account_id)

    assert _client(fake).accounts.retrieve(account_id).charges_enabled
    (event,) = fake.events_of_type("account.updated")
    assert event["account"] == account_id
    assert event["data"]["object"]["charges_enabled"] is True
    assert event["data"]["previous_attributes"]["charges_enabled"] is False


# ------------------------------------------------------------------------------- idempotency


def test_same_key_same_params_replays_the_saved_response(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)

    first = v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "k1"})
    second = v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "k1"})

    assert first.id == second.id
    assert fake.requests[-1].replayed
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(fake.events_of_type("customer.created")) == 1


def test_same_key_different_params_is_an_idempotency_error(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "k1"})

    with pytest.raises(stripe.IdempotencyError):
        v1.customers.create({"email": "b@example.com"}, {"idempotency_key": "k1"})
    with pytest.raises(stripe.IdempotencyError):
        v1.setup_intents.create({}, {"idempotency_key": "k1"})  # another endpoint


def test_keys_are_scoped_per_account(fake: FakeStripe, account: str) -> None:
    other = fake.create_connected_account()

    first = _client(fake, account).customers.create({"email": "a@example.com"}, {"idempotency_key": "k1"})
    second = _client(fake, other).customers.create({"email": "b@example.com"}, {"idempotency_key": "k1"})

    assert first.id != second.id


def test_validation_failures_are_not_saved_but_card_errors_are(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id
    with pytest.raises(stripe.InvalidRequestError):
        v1.payment_intents.create(
            {"amount": 1000, "currency": "usd", "bogus": "1"}, {"idempotency_key": "k2"}
        )
    charge = {
        "amount": 1000,
        "currency": "usd",
        "customer": customer_id,
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
        "off_session": True,
    }

    with pytest.raises(stripe.CardError) as first:
        v1.payment_intents.create(charge, {"idempotency_key": "k2"})  # the key was free again
    with pytest.raises(stripe.CardError) as replay:
        v1.payment_intents.create(charge, {"idempotency_key": "k2"})

    assert replay.value.json_body == first.value.json_body
    assert fake.requests[-1].replayed
    assert len(fake.events_of_type("payment_intent.payment_failed")) == 1


# ------------------------------------------------------------------------------- test cards


def test_test_payment_method_ids_create_new_objects(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id

    attached = v1.payment_methods.attach("pm_card_visa", {"customer": customer_id})
    again = v1.payment_methods.attach("pm_card_visa", {"customer": customer_id})

    assert attached.id.startswith("pm_") and attached.id != "pm_card_visa"
    assert again.id != attached.id
    assert attached.card.last4 == "4242" and attached.card.fingerprint == again.card.fingerprint
    listed = v1.payment_methods.list({"customer": customer_id, "type": "card"})
    assert {pm.id for pm in listed.data} == {attached.id, again.id}


def test_fingerprints_differ_between_accounts(fake: FakeStripe, account: str) -> None:
    other = fake.create_connected_account()

    mine = _client(fake, account).payment_methods.retrieve("pm_card_visa")
    theirs = _client(fake, other).payment_methods.retrieve("pm_card_visa")

    assert mine.card.fingerprint != theirs.card.fingerprint


@pytest.mark.parametrize(
    "alias", sorted(a for a in PM_ALIASES if "Declined" in a or "chargeCustomerFail" in a)
)
def test_declining_cards_decline_off_session_charges(fake: FakeStripe, account: str, alias: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id

    with pytest.raises(stripe.CardError) as raised:
        v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "customer": customer_id,
                "payment_method": alias,
                "confirm": True,
                "off_session": True,
            }
        )

    error = raised.value.json_body["error"]
    assert error["type"] == "card_error"
    assert error["decline_code"]
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert error["payment_intent"]["last_payment_error"]["code"] == raised.value.code


def test_decline_after_attaching_card_can_be_saved(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id

    pm_id = _saved_card(fake, account, customer_id, "pm_card_chargeCustomerFail")

    with pytest.raises(stripe.CardError):
        v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "customer": customer_id,
                "payment_method": pm_id,
                "confirm": True,
                "off_session": True,
            }
        )


def test_card_set_up_with_3ds_charges_off_session_afterwards(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id
    intent = v1.setup_intents.create({"customer": customer_id, "usage": "off_session"})

    pending = v1.setup_intents.confirm(intent.id, {"payment_method": "pm_card_authenticationRequiredOnSetup"})
    assert pending.status == "requires_action"
    fake.complete_setup_authentication(account, intent.id)
    done = v1.setup_intents.retrieve(intent.id)
    charged = v1.payment_intents.create(
        {
            "amount": 1000,
            "currency": "usd",
            "customer": customer_id,
            "payment_method": done.payment_method,
            "confirm": True,
            "off_session": True,
        }
    )

    assert done.status == "succeeded"
    assert charged.status == "succeeded"
    assert [e["type"] for e in fake.events if e["type"].startswith("setup_intent.")] == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
    ]


def test_always_authenticate_card_fails_off_session_even_after_set_up(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id
    intent = v1.setup_intents.create({"customer": customer_id, "usage": "off_session"})
    v1.setup_intents.confirm(intent.id, {"payment_method": "pm_card_authenticationRequired"})
    fake.complete_setup_authentication(account, intent.id)
    pm_id = v1.setup_intents.retrieve(intent.id).payment_method

    with pytest.raises(stripe.CardError) as raised:
        v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "customer": customer_id,
                "payment_method": pm_id,
                "confirm": True,
                "off_session": True,
            }
        )

    assert raised.value.code == "authentication_required"


def test_on_session_3ds_waits_for_the_customer(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    intent = v1.payment_intents.create(
        {
            "amount": 1000,
            "currency": "usd",
            "confirm": True,
            "payment_method": "pm_card_authenticationRequired",
        }
    )
    assert intent.status == "requires_action"

    fake.authenticate_payment_intent(account, intent.id)

    assert v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_detached_card_cannot_be_used_again(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id
    pm_id = _saved_card(fake, account, customer_id)
    v1.payment_methods.detach(pm_id)

    with pytest.raises(stripe.InvalidRequestError):
        v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "customer": customer_id,
                "payment_method": pm_id,
                "confirm": True,
                "off_session": True,
            }
        )
    with pytest.raises(stripe.InvalidRequestError):
        v1.payment_methods.detach(pm_id)


# ------------------------------------------------------------------------------- refunds


def test_refunds_partial_then_full_then_none_left(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    customer_id = v1.customers.create({}).id
    intent = v1.payment_intents.create(
        {
            "amount": 10_000,
            "currency": "usd",
            "customer": customer_id,
            "payment_method": _saved_card(fake, account, customer_id),
            "confirm": True,
            "off_session": True,
        }
    )

    partial = v1.refunds.create({"payment_intent": intent.id, "amount": 2_500})
    with pytest.raises(stripe.InvalidRequestError) as over:
        v1.refunds.create({"payment_intent": intent.id, "amount": 8_000})
    rest = v1.refunds.create({"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as none_left:
        v1.refunds.create({"payment_intent": intent.id})

    assert (partial.amount, rest.amount) == (2_500, 7_500)
    assert over.value.code == "amount_too_large"
    assert none_left.value.code == "charge_already_refunded"
    charge = v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (10_000, True)
    assert [e["account"] for e in fake.events_of_type("charge.refunded")] == [account, account]


def test_refund_of_a_failed_payment_is_rejected(fake: FakeStripe, account: str) -> None:
    v1 = _client(fake, account)
    intent = v1.payment_intents.create({"amount": 1000, "currency": "usd"})

    with pytest.raises(stripe.InvalidRequestError):
        v1.refunds.create({"payment_intent": intent.id})


# ------------------------------------------------------------------------------- faults


def test_timeout_after_commit_replays_on_the_retry(fake: FakeStripe, account: str) -> None:
    fake.fail_next(1, "timeout_after_commit")

    customer = _client(fake, account, retries=1).customers.create({"email": "a@example.com"})

    assert [r.status for r in fake.requests] == [None, 200]
    assert fake.requests[1].replayed
    assert fake.get(account, customer.id)["email"] == "a@example.com"
    assert len(fake.events_of_type("customer.created")) == 1


def test_faults_can_target_a_path(fake: FakeStripe, account: str) -> None:
    fake.fail_next(1, "5xx", path="/v1/payment_intents")
    v1 = _client(fake, account)

    v1.customers.create({})
    with pytest.raises(stripe.APIError):
        v1.payment_intents.create({"amount": 1000, "currency": "usd"})

    assert [r.status for r in fake.requests] == [200, 500]


def test_unknown_fault_kind_is_refused(fake: FakeStripe) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.fail_next(1, "503")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- webhooks


def test_events_are_signed_as_stripe_signs_them(fake: FakeStripe, account: str) -> None:
    customer_id = _client(fake, account).customers.create({}).id
    _saved_card(fake, account, customer_id)
    (event,) = fake.events_of_type("setup_intent.succeeded")

    body, headers = fake.webhook_request(event)
    verified = stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], fake.webhook_secret)

    assert verified.id == event["id"]
    assert verified.account == account
    assert verified.data.object.status == "succeeded"
    assert event["api_version"] == stripe.api_version
    assert event["request"]["id"].startswith("req_")


def test_a_signature_with_the_wrong_secret_or_an_old_timestamp_fails(fake: FakeStripe) -> None:
    payload = json.dumps({"id": "evt_1", "object": "event"})

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            payload, fake.sign(payload, secret="whsec_other"), fake.webhook_secret
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            payload, fake.sign(payload, timestamp=1), fake.webhook_secret, tolerance=300
        )


def test_rolled_secrets_sign_with_each(fake: FakeStripe) -> None:
    payload = '{"id": "evt_1"}'

    header = fake.sign(payload, secret=["whsec_new", "whsec_old"])

    assert header.count("v1=") == 2
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_old")


def test_events_can_be_fetched_from_the_api(fake: FakeStripe, account: str) -> None:
    _client(fake, account).customers.create({})
    (event,) = fake.events_of_type("customer.created")

    fetched = _client(fake, account).events.retrieve(event["id"])

    assert fetched.type == "customer.created"
    with pytest.raises(stripe.InvalidRequestError):
        _client(fake).events.retrieve(event["id"])  # events belong to their account too
