"""StripeGateway's on-session PaymentIntents (create for the browser, cancel) over the real SDK,
answered by FakeStripe: what goes on the wire, and how Stripe's answers become the port's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.fake_stripe import FakeStripe
from therabill.adapters.stripe_gateway import STRIPE_API_VERSION, StripeGateway
from therabill.payments.gateway import (
    ClientPaymentIntent,
    GatewayRejectedError,
    GatewayUnavailableError,
    PhiLeakError,
)

KEY = "sk_test_unit"
META = {"therabill_payment_id": "pay_0123456789abcdef", "therabill_practice_id": "prc_0123456789ab"}


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def account(fake: FakeStripe) -> str:
    return fake.create_connected_account()


@pytest.fixture
def gateway(fake: FakeStripe) -> StripeGateway:
    return StripeGateway(KEY, http_client=fake.http_client(), max_network_retries=0)


def _create(gateway: StripeGateway, account: str, **extra: Any) -> ClientPaymentIntent:
    return gateway.create_payment_intent(
        account=account,
        amount=4_000,
        currency="USD",
        idempotency_key="therabill:pi:pay_0123456789abcdef",
        description="Payment pay_0123456789abcdef",
        metadata=META,
        **extra,
    )


def test_an_on_session_intent_is_cards_only_unconfirmed_and_on_the_practice_account(
    fake: FakeStripe, gateway: StripeGateway, account: str
) -> None:
    ref = _create(gateway, account)

    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.stripe_account == account
    assert request.stripe_version == STRIPE_API_VERSION
    assert request.idempotency_key == "therabill:pi:pay_0123456789abcdef"
    assert request.params == {
        "amount": "4000",
        "currency": "usd",
        "allowed_payment_method_types": ["card"],
        "description": "Payment pay_0123456789abcdef",
        "metadata": META,
    }
    assert ref.status == "requires_payment_method"


def test_a_customer_and_future_usage_are_sent_only_when_given(
    fake: FakeStripe, gateway: StripeGateway, account: str
) -> None:
    customer = fake.client(KEY, stripe_account=account).v1.customers.create({"email": "a@b.test"})

    _create(gateway, account, customer_id=customer.id, setup_future_usage="off_session")

    params = fake.requests[-1].params
    assert (params["customer"], params["setup_future_usage"]) == (customer.id, "off_session")
    assert "confirm" not in params and "off_session" not in params


def test_health_information_is_never_sent(fake: FakeStripe, gateway: StripeGateway, account: str) -> None:
    before = len(fake.requests)

    with pytest.raises(PhiLeakError):
        gateway.create_payment_intent(
            account=account,
            amount=4_000,
            currency="usd",
            idempotency_key="k-1",
            description="Deposit for CPT 90837 psychotherapy",
            metadata={},
        )

    assert len(fake.requests) == before


@pytest.mark.parametrize("fault", ["5xx", "429", "timeout"])
def test_an_unreachable_stripe_is_unavailable_not_rejected(
    fake: FakeStripe, gateway: StripeGateway, account: str, fault: str
) -> None:
    fake.fail_next(1, fault)  # type: ignore[arg-type]

    with pytest.raises(GatewayUnavailableError):
        _create(gateway, account)


def test_cancel_sends_its_key_and_reason(fake: FakeStripe, gateway: StripeGateway, account: str) -> None:
    ref = _create(gateway, account)

    status = gateway.cancel_payment_intent(
        account=account, payment_intent_id=ref.id, idempotency_key="therabill:cancel:pay_1"
    )

    request = fake.requests[-1]
    assert status == "canceled"
    assert request.path.endswith("/cancel") and request.idempotency_key == "therabill:cancel:pay_1"
    assert request.params == {"cancellation_reason": "abandoned"}
    assert fake.events_of_type("payment_intent.canceled", account=account)


def test_cancelling_a_paid_intent_answers_succeeded(
    fake: FakeStripe, gateway: StripeGateway, account: str
) -> None:
    ref = _create(gateway, account)
    fake.pay_on_page(account, ref.client_secret)

    status = gateway.cancel_payment_intent(account=account, payment_intent_id=ref.id, idempotency_key="k-2")

    assert status == "succeeded"


def test_cancelling_an_unknown_intent_is_a_rejection(gateway: StripeGateway, account: str) -> None:
    with pytest.raises(GatewayRejectedError):
        gateway.cancel_payment_intent(
            account=account, payment_intent_id="pi_doesnotexist000", idempotency_key="k-3"
        )
