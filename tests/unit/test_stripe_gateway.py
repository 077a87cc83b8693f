"""StripeGateway over the real stripe SDK, answered by FakeStripe (no sockets).

What goes on the wire is the point here (idempotency keys, the Stripe-Account header, the exact
parameters, nothing at all when the PHI guard refuses), then how Stripe's answers and failures
become the port's outcomes and errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import stripe
from stripe._api_version import _ApiVersion

from tests.fakes.fake_stripe import FakeStripe
from therabill.adapters.stripe_gateway import STRIPE_API_VERSION, StripeGateway
from therabill.payments.gateway import (
    ChargeOutcome,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentGateway,
    PhiLeakError,
)

KEY = "sk_test_unit"
PAYMENT_META = {"therabill_payment_id": "pay_0123456789abcdef", "therabill_practice_id": "prac_0123456789ab"}


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def account(fake: FakeStripe) -> str:
    return fake.create_connected_account()


@pytest.fixture
def gateway(fake: FakeStripe) -> StripeGateway:
    return StripeGateway(KEY, http_client=fake.http_client())


def _customer(gateway: StripeGateway, account: str) -> str:
    return gateway.create_customer(
        account=account,
        idempotency_key="therabill:customer:cli_0123456789",
        email=None,
        name=None,
        metadata={},
    )


def _saved_card(fake: FakeStripe, account: str, customer_id: str, alias: str = "pm_card_visa") -> str:
    client = fake.client(stripe_account=account)
    intent = client.v1.setup_intents.create({"customer": customer_id, "usage": "off_session"})
    return str(client.v1.setup_intents.confirm(intent.id, {"payment_method": alias}).payment_method)


def _charge(
    gateway: StripeGateway, account: str, customer_id: str, pm_id: str, **overrides: Any
) -> ChargeOutcome:
    args: dict[str, Any] = {
        "account": account,
        "customer_id": customer_id,
        "payment_method_id": pm_id,
        "amount": 15_000,
        "currency": "usd",
        "idempotency_key": "therabill:charge:pay_0123456789abcdef",
        "description": "Payment to Example Practice",
        "metadata": PAYMENT_META,
        "application_fee_amount": None,
    }
    args.update(overrides)
    return gateway.charge_off_session(**args)


# ------------------------------------------------------------------------------- the port and the version


def test_it_implements_the_port() -> None:
    gateway: PaymentGateway = StripeGateway(KEY)  # mypy checks the protocol; this checks construction

    assert gateway is not None


def test_pinned_api_version_is_the_sdks_own() -> None:
    # Bump STRIPE_API_VERSION, the SDK and the webhook endpoints' version together, on purpose.
    assert STRIPE_API_VERSION == _ApiVersion.CURRENT


def test_importing_the_adapter_does_not_import_stripe() -> None:
    code = "import sys, therabill.adapters.stripe_gateway; print('stripe' in sys.modules)"
    result = subprocess.run(  # no network: a child interpreter importing one module
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "functions")},
    )

    assert result.stdout.strip() == "False"


def test_the_client_is_built_once_and_reused(gateway: StripeGateway, fake: FakeStripe, account: str) -> None:
    _customer(gateway, account)
    gateway.retrieve_account(account=account)

    assert gateway._stripe() is gateway._stripe()
    assert {r.stripe_version for r in fake.requests} == {STRIPE_API_VERSION}


# ------------------------------------------------------------------------------- on the wire


def test_create_customer_sends_key_account_and_params(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = gateway.create_customer(
        account=account,
        idempotency_key="therabill:customer:cli_0123456789",
        email="pat@example.com",
        name="Pat Example",
        metadata={"therabill_client_id": "cli_0123456789abcdef"},
    )

    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/customers")
    assert request.idempotency_key == "therabill:customer:cli_0123456789"
    assert request.stripe_account == account
    assert request.params == {
        "email": "pat@example.com",
        "name": "Pat Example",
        "metadata": {"therabill_client_id": "cli_0123456789abcdef"},
    }
    assert customer_id.startswith("cus_")


def test_create_setup_intent_asks_for_off_session_cards(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)

    ref = gateway.create_setup_intent(
        account=account,
        customer_id=customer_id,
        idempotency_key="therabill:setup:lnk_0123456789",
        metadata={"therabill_setup_link_id": "lnk_0123456789abcdef"},
    )

    request = fake.requests[-1]
    assert (request.path, request.idempotency_key, request.stripe_account) == (
        "/v1/setup_intents",
        "therabill:setup:lnk_0123456789",
        account,
    )
    assert request.params == {
        "customer": customer_id,
        "usage": "off_session",
        "allowed_payment_method_types": ["card"],
        "metadata": {"therabill_setup_link_id": "lnk_0123456789abcdef"},
    }
    assert ref.status == "requires_payment_method"
    assert ref.client_secret.startswith(ref.id)


def test_charge_sends_exactly_the_documented_params(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)

    _charge(gateway, account, customer_id, pm_id, currency="USD", application_fee_amount=300)

    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.idempotency_key == "therabill:charge:pay_0123456789abcdef"
    assert request.stripe_account == account
    assert request.params == {
        "amount": "15000",
        "currency": "usd",
        "customer": customer_id,
        "payment_method": pm_id,
        "allowed_payment_method_types": ["card"],
        "confirm": "true",
        "off_session": "true",
        "description": "Payment to Example Practice",
        "metadata": PAYMENT_META,
        "application_fee_amount": "300",
    }


def test_charge_without_a_fee_sends_no_fee_param(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)

    _charge(gateway, account, customer_id, pm_id, application_fee_amount=None)

    assert "application_fee_amount" not in fake.requests[-1].params


def test_reads_send_the_account_header_and_no_key(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)
    outcome = _charge(gateway, account, customer_id, pm_id)
    assert outcome.payment_intent_id is not None
    fake.requests.clear()

    gateway.retrieve_card(account=account, payment_method_id=pm_id)
    gateway.retrieve_payment_intent(account=account, payment_intent_id=outcome.payment_intent_id)
    gateway.detach_card(account=account, payment_method_id=pm_id)

    assert [(r.method, r.path.split("/")[2], r.stripe_account) for r in fake.requests] == [
        ("GET", "payment_methods", account),
        ("GET", "payment_intents", account),
        ("POST", "payment_methods", account),
    ]
    assert [r.idempotency_key for r in fake.requests[:2]] == [None, None]


def test_connected_account_calls_are_platform_calls(gateway: StripeGateway, fake: FakeStripe) -> None:
    created = gateway.create_connected_account(
        idempotency_key="therabill:account:prac_0123456789",
        email="owner@example.com",
        country="us",
        metadata={"therabill_practice_id": "prac_0123456789ab"},
    )
    gateway.create_account_link(
        account=created.id, refresh_url="https://app.example/r", return_url="https://app.example/done"
    )
    gateway.retrieve_account(account=created.id)

    create, link, retrieve = fake.requests
    assert [r.stripe_account for r in fake.requests] == [None, None, None]
    assert create.idempotency_key == "therabill:account:prac_0123456789"
    assert create.params == {
        "country": "US",
        "controller": {
            "fees": {"payer": "account"},
            "losses": {"payments": "stripe"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "full"},
        },
        "email": "owner@example.com",
        "metadata": {"therabill_practice_id": "prac_0123456789ab"},
    }
    assert link.params == {
        "account": created.id,
        "refresh_url": "https://app.example/r",
        "return_url": "https://app.example/done",
        "type": "account_onboarding",
    }
    assert retrieve.path == f"/v1/accounts/{created.id}"


@pytest.mark.parametrize(
    ("description", "metadata"),
    [
        ("Psychotherapy 90834 on 3 March", {}),
        ("Payment for F41.1 follow-up", {}),
        ("Payment to Example Practice", {"diagnosis": "anxiety"}),
        ("Payment to Example Practice", {"therabill_payment_id": "speech therapy"}),
    ],
)
def test_phi_guard_refusal_sends_nothing(
    gateway: StripeGateway, fake: FakeStripe, account: str, description: str, metadata: dict[str, str]
) -> None:
    with pytest.raises(PhiLeakError):
        _charge(gateway, account, "cus_x", "pm_x", description=description, metadata=metadata)

    assert fake.requests == []


def test_phi_guard_covers_every_create_with_metadata(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    leaky = {"treatment": "cbt"}

    with pytest.raises(PhiLeakError):
        gateway.create_customer(account=account, idempotency_key="k", email=None, name=None, metadata=leaky)
    with pytest.raises(PhiLeakError):
        gateway.create_setup_intent(account=account, customer_id="cus_x", idempotency_key="k", metadata=leaky)
    with pytest.raises(PhiLeakError):
        gateway.create_connected_account(idempotency_key="k", email=None, country="US", metadata=leaky)

    assert fake.requests == []


def test_a_bad_account_id_is_refused_before_sending(gateway: StripeGateway, fake: FakeStripe) -> None:
    with pytest.raises(GatewayRejectedError):
        gateway.retrieve_account(account="cus_not_an_account")
    with pytest.raises(GatewayRejectedError):
        gateway.create_customer(account="", idempotency_key="k", email=None, name=None, metadata={})

    assert fake.requests == []


# ------------------------------------------------------------------------------- outcomes


def test_successful_charge(gateway: StripeGateway, fake: FakeStripe, account: str) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)

    outcome = _charge(gateway, account, customer_id, pm_id)

    assert outcome.status == "succeeded"
    assert outcome.payment_intent_id is not None
    assert outcome.charge_id == fake.get(account, outcome.payment_intent_id)["latest_charge"]


def test_charge_id_is_read_from_the_pre_2022_shape_too(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    fake.payment_intent_shape = "legacy"  # charges.data[0], no latest_charge
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)

    outcome = _charge(gateway, account, customer_id, pm_id)

    body = json.loads(
        fake.handle(
            "GET",
            f"/v1/payment_intents/{outcome.payment_intent_id}",
            {"Authorization": f"Bearer {KEY}", "Stripe-Account": account},
            None,
        )[0]
    )
    assert "latest_charge" not in body
    assert outcome.charge_id == body["charges"]["data"][0]["id"]


@pytest.mark.parametrize(
    ("test_card", "error_code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
def test_declines_are_outcomes_with_codes(
    gateway: StripeGateway, fake: FakeStripe, account: str, test_card: str, error_code: str, decline_code: str
) -> None:
    customer_id = _customer(gateway, account)

    outcome = _charge(gateway, account, customer_id, test_card)

    assert outcome.status == "declined"
    assert (outcome.error_code, outcome.decline_code) == (error_code, decline_code)
    assert outcome.message
    assert outcome.payment_intent_id is not None
    assert fake.get(account, outcome.payment_intent_id)["status"] == "requires_payment_method"
    assert outcome.charge_id is not None


def test_card_needing_authentication_off_session_requires_action(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)

    outcome = _charge(gateway, account, customer_id, "pm_card_authenticationRequired")

    assert outcome.status == "requires_action"
    assert outcome.error_code == "authentication_required"
    assert outcome.payment_intent_id is not None
    state = gateway.retrieve_payment_intent(account=account, payment_intent_id=outcome.payment_intent_id)
    assert state.status == "requires_payment_method"
    assert state.last_error_code == "authentication_required"


def test_requires_action_intent_answer_is_requires_action_too() -> None:
    # localstripe answers an off-session 3-D Secure card with 200 and status requires_action.
    intent = {
        "id": "pi_local",
        "object": "payment_intent",
        "status": "requires_action",
        "amount": 100,
        "currency": "usd",
        "latest_charge": None,
        "last_payment_error": None,
    }
    gateway = StripeGateway(KEY, http_client=_Canned({"POST /v1/payment_intents": (200, intent)}))

    outcome = _charge(gateway, "acct_1", "cus_1", "pm_1")

    assert outcome == ChargeOutcome(status="requires_action", payment_intent_id="pi_local")


def test_a_retry_with_the_same_key_returns_the_same_outcome(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)

    first = _charge(gateway, account, customer_id, "pm_card_chargeDeclinedInsufficientFunds")
    second = _charge(gateway, account, customer_id, "pm_card_chargeDeclinedInsufficientFunds")

    assert first == second
    assert fake.requests[-1].replayed
    assert len(fake.events_of_type("payment_intent.payment_failed", account=account)) == 1


# ------------------------------------------------------------------------------- failures


@pytest.mark.parametrize("kind", ["5xx", "timeout"])
def test_outage_after_the_sdks_retries_is_unavailable(
    gateway: StripeGateway, fake: FakeStripe, account: str, kind: Any
) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)
    fake.requests.clear()
    fake.fail_next(3, kind)  # the first try and the SDK's two retries

    with pytest.raises(GatewayUnavailableError):
        _charge(gateway, account, customer_id, pm_id)

    assert len(fake.requests) == 3
    assert {r.idempotency_key for r in fake.requests} == {"therabill:charge:pay_0123456789abcdef"}
    assert fake.events_of_type("payment_intent.created") == []


def test_rate_limit_is_unavailable_without_retrying(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    fake.fail_next(1, "429")

    with pytest.raises(GatewayUnavailableError) as raised:
        _customer(gateway, account)

    assert raised.value.details["http_status"] == 429
    assert len(fake.requests) == 1  # the SDK retries 429 only when Stripe-Should-Retry says so


def test_one_transient_failure_is_absorbed_by_the_sdk_retry(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)
    fake.requests.clear()
    fake.fail_next(1, "5xx", path="/v1/payment_intents")

    outcome = _charge(gateway, account, customer_id, pm_id)

    assert outcome.status == "succeeded"
    assert [r.status for r in fake.requests] == [500, 200]
    assert fake.retry_sleeps  # the SDK backed off (the fake skips the sleep)


def test_lost_answer_then_retry_charges_once(gateway: StripeGateway, fake: FakeStripe, account: str) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)
    fake.fail_next(1, "timeout_after_commit", path="/v1/payment_intents")

    outcome = _charge(gateway, account, customer_id, pm_id)

    assert outcome.status == "succeeded"
    assert fake.requests[-1].replayed
    assert len(fake.events_of_type("payment_intent.succeeded", account=account)) == 1


def test_reusing_a_key_for_a_different_charge_is_rejected(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)
    _charge(gateway, account, customer_id, pm_id, amount=15_000)

    with pytest.raises(GatewayRejectedError) as raised:
        _charge(gateway, account, customer_id, pm_id, amount=16_000)

    assert raised.value.details["http_status"] == 400


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (lambda g, a: g.retrieve_setup_intent(account=a, setup_intent_id="seti_missing"), 404),
        (lambda g, a: _charge(g, a, "cus_missing", "pm_card_visa"), 404),
        (lambda g, a: _charge(g, a, "cus_missing", "pm_card_visa", amount=10), 400),
        (
            lambda g, a: g.retrieve_setup_intent(account="acct_1NotConnectedHere", setup_intent_id="seti_x"),
            403,
        ),
    ],
)
def test_invalid_requests_are_rejected(gateway: StripeGateway, account: str, call: Any, status: int) -> None:
    with pytest.raises(GatewayRejectedError) as raised:
        call(gateway, account)

    assert raised.value.details["http_status"] == status


def test_a_bad_api_key_is_rejected(fake: FakeStripe, account: str) -> None:
    gateway = StripeGateway("sk_live_wrong", http_client=fake.http_client())

    with pytest.raises(GatewayRejectedError) as raised:
        gateway.retrieve_account(account=account)

    assert raised.value.details["http_status"] == 401


def test_charging_before_onboarding_is_rejected(gateway: StripeGateway, fake: FakeStripe) -> None:
    account = fake.create_connected_account(onboarded=False)
    customer_id = _customer(gateway, account)

    with pytest.raises(GatewayRejectedError):
        _charge(gateway, account, customer_id, "pm_card_visa")


def test_detaching_an_already_detached_card_is_done(
    gateway: StripeGateway, fake: FakeStripe, account: str
) -> None:
    customer_id = _customer(gateway, account)
    pm_id = _saved_card(fake, account, customer_id)

    gateway.detach_card(account=account, payment_method_id=pm_id)
    gateway.detach_card(account=account, payment_method_id=pm_id)

    assert gateway.retrieve_card(account=account, payment_method_id=pm_id).customer_id is None


def test_detaching_an_unknown_card_is_rejected(gateway: StripeGateway, account: str) -> None:
    with pytest.raises(GatewayRejectedError):
        gateway.detach_card(account=account, payment_method_id="pm_missing")


# ------------------------------------------------------------------------------- helpers


class _Canned(stripe.HTTPClient):
    """Answers fixed JSON per "METHOD /path" (for answers the fake never gives, e.g. localstripe's)."""

    name = "canned"

    def __init__(self, answers: Mapping[str, tuple[int, dict[str, Any]]]) -> None:
        super().__init__()
        self.answers = answers

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> Any:
        path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        status, body = self.answers[f"{method.upper()} /{path}"]
        return json.dumps(body), status, {"Request-Id": "req_canned"}

    def close(self) -> None:
        return None
