"""PaymentGateway implemented with the Stripe Python SDK (``stripe.StripeClient``).

Direct charges on each practice's connected account: every call about a practice's money sends
``Stripe-Account: <account>``; creating the connected account itself, reading it and making its
onboarding link are platform calls (the account id goes in the path / the ``account`` parameter,
as Stripe documents for ``/v1/accounts`` and ``/v1/account_links``).

Importing this module is cheap: ``stripe`` (about a second of cold start) is imported only when
the first client is built or the first error is translated.

Stripe facts relied on (docs.stripe.com, stripe-python 16.1 source):
- stripe-python >= 6 sends the API version that was current when the SDK was released; its typed
  params and objects are generated for that version, so we pin to exactly that version (below).
- v1 idempotency: Stripe saves the status and body of the first request with a key once the
  endpoint starts executing and replays it (including 402 card errors and 500s) for retries with
  the same key; a different request with the same key is a 400 ``idempotency_error``.
- An off-session confirm that needs 3-D Secure fails with HTTP 402, ``code=authentication_required``
  and the PaymentIntent left in ``requires_payment_method`` (error.payment_intent carries it).
  localstripe instead returns the PaymentIntent in ``requires_action``; both map to
  ``requires_action``.
- The SDK retries (with the same Idempotency-Key) on connection errors, 409 and 5xx, up to
  ``max_network_retries``; it does not retry 429 unless Stripe sends ``Stripe-Should-Retry: true``.
- From API 2026-09-30.endive, ``payment_method_types`` is no longer writable on PaymentIntents and
  SetupIntents (400 ``payment_method_types_no_longer_supported``); ``allowed_payment_method_types``
  (added in 2026-07-29.dahlia) restricts them instead, and the object still reports the computed
  ``payment_method_types``. We allow cards only: a card never redirects, so an off-session
  confirm needs no ``return_url``.
- Since API 2022-11-15 a PaymentIntent has ``latest_charge`` (an id, or an object when
  expanded); older versions list ``charges.data``. Both are read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from therabill.payments import phi_guard
from therabill.payments.gateway import (
    AccountState,
    CardDetails,
    ChargeOutcome,
    ClientPaymentIntent,
    GatewayRejectedError,
    GatewayUnavailableError,
    PaymentIntentState,
    RefundState,
    SetupIntentRef,
    SetupIntentState,
)

if TYPE_CHECKING:
    import stripe
    from stripe.params import (
        AccountCreateParams,
        AccountCreateParamsController,
        AccountLinkCreateParams,
        CustomerCreateParams,
        PaymentIntentCancelParams,
        PaymentIntentCreateParams,
        RefundCreateParams,
        SetupIntentCreateParams,
    )

# The Stripe API version this adapter is written and tested against. It is the version pinned
# by stripe-python 16.1.0 (stripe._api_version._ApiVersion.CURRENT). Stripe's docs: server SDKs
# send the version current at their release, and the typed SDKs' params and response classes
# are generated for it, so pinning an older version (e.g. 2024-06-20) under SDK 16 would mean
# sending params typed for one version and parsing responses of another. We still pass it
# explicitly so an SDK upgrade cannot silently change what goes on the wire: a unit test fails
# when the SDK's version moves, and the bump (SDK, this constant, the webhook endpoints' API
# version) is then made on purpose, together.
STRIPE_API_VERSION = "2026-10-28.endive"

# Connected accounts: the modern equivalent of a Standard account, right for direct charges.
# The practice pays Stripe's fees, Stripe carries negative-balance losses and collects the
# requirements, and the practice gets the full Dashboard (``type`` is deprecated for ``controller``).
_CONNECTED_ACCOUNT_CONTROLLER: AccountCreateParamsController = {
    "fees": {"payer": "account"},
    "losses": {"payments": "stripe"},
    "requirement_collection": "stripe",
    "stripe_dashboard": {"type": "full"},
}


class StripeGateway:
    """The PaymentGateway port over Stripe. One instance per process is enough (it is
    thread-safe and builds its client once, on first use).

    ``api_base`` points at another Stripe (localstripe locally); ``http_client`` replaces the
    transport (tests pass FakeStripe's); ``timeout_seconds`` applies to the default
    ``stripe.RequestsClient`` only, a given ``http_client`` carries its own. Keep
    ``timeout_seconds * (max_network_retries + 1)`` inside the calling Lambda's timeout."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 20,
    ) -> None:
        if not api_key:
            raise ValueError("a Stripe secret key is required")
        self._api_key = api_key
        self._api_base = api_base or None
        self._http_client = http_client
        self._max_network_retries = max_network_retries
        self._timeout_seconds = timeout_seconds
        self._client: stripe.StripeClient | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the client

    def _stripe(self) -> stripe.StripeClient:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                import stripe  # noqa: PLC0415 - the SDK is heavy: loaded on the first Stripe call only

                http_client = self._http_client
                if http_client is None:
                    # requests is a dependency of stripe itself; the timeout lives on the
                    # HTTP client, not on StripeClient.
                    http_client = stripe.RequestsClient(timeout=self._timeout_seconds)
                base_addresses: Any = {"api": self._api_base} if self._api_base else None
                self._client = stripe.StripeClient(
                    self._api_key,
                    stripe_version=STRIPE_API_VERSION,
                    base_addresses=base_addresses,
                    max_network_retries=self._max_network_retries,
                    http_client=http_client,
                )
            return self._client

    # ------------------------------------------------------------------ customers and cards

    def create_customer(
        self,
        *,
        account: str,
        idempotency_key: str,
        email: str | None,
        name: str | None,
        metadata: dict[str, str],
    ) -> str:
        phi_guard.check_outbound(metadata=metadata)
        params: CustomerCreateParams = {}
        if email is not None:
            params["email"] = email
        if name is not None:
            params["name"] = name
        if metadata:
            params["metadata"] = dict(metadata)
        with _translated("create_customer"):
            customer = self._stripe().v1.customers.create(
                params, _options(account=account, idempotency_key=idempotency_key)
            )
        return str(_as_dict(customer)["id"])

    def create_setup_intent(
        self, *, account: str, customer_id: str, idempotency_key: str, metadata: dict[str, str]
    ) -> SetupIntentRef:
        phi_guard.check_outbound(metadata=metadata)
        params: SetupIntentCreateParams = {
            "customer": customer_id,
            "usage": "off_session",
            "allowed_payment_method_types": ["card"],
        }
        if metadata:
            params["metadata"] = dict(metadata)
        with _translated("create_setup_intent"):
            intent = self._stripe().v1.setup_intents.create(
                params, _options(account=account, idempotency_key=idempotency_key)
            )
        data = _as_dict(intent)
        return SetupIntentRef(
            id=str(data["id"]), client_secret=str(data["client_secret"]), status=str(data["status"])
        )

    def retrieve_setup_intent(self, *, account: str, setup_intent_id: str) -> SetupIntentState:
        with _translated("retrieve_setup_intent"):
            intent = self._stripe().v1.setup_intents.retrieve(
                setup_intent_id, None, _options(account=account)
            )
        data = _as_dict(intent)
        return SetupIntentState(
            id=str(data["id"]),
            status=str(data["status"]),
            customer_id=_id_of(data.get("customer")),
            payment_method_id=_id_of(data.get("payment_method")),
            metadata=_str_dict(data.get("metadata")),
        )

    def retrieve_card(self, *, account: str, payment_method_id: str) -> CardDetails:
        with _translated("retrieve_card"):
            payment_method = self._stripe().v1.payment_methods.retrieve(
                payment_method_id, None, _options(account=account)
            )
        data = _as_dict(payment_method)
        card = data.get("card")
        if data.get("type") != "card" or not isinstance(card, Mapping):
            raise GatewayRejectedError(
                "the payment method is not a card", payment_method_id=payment_method_id
            )
        fingerprint = card.get("fingerprint")
        return CardDetails(
            payment_method_id=str(data["id"]),
            brand=str(card.get("brand") or "unknown"),
            last4=str(card.get("last4") or ""),
            exp_month=int(card.get("exp_month") or 0),
            exp_year=int(card.get("exp_year") or 0),
            fingerprint=str(fingerprint) if fingerprint else None,
            customer_id=_id_of(data.get("customer")),
        )

    def detach_card(self, *, account: str, payment_method_id: str) -> None:
        client = self._stripe()
        options = _options(account=account)
        try:
            with _translated("detach_card"):
                client.v1.payment_methods.detach(payment_method_id, None, options)
        except GatewayRejectedError:
            # Detaching is the end state we want; a re-run after a crash finds it already
            # detached (Stripe answers 400). Check the state rather than the error text.
            with _translated("detach_card"):
                payment_method = client.v1.payment_methods.retrieve(payment_method_id, None, options)
            if _as_dict(payment_method).get("customer") is None:
                return
            raise

    # ------------------------------------------------------------------ charges

    # Long on purpose: the PaymentIntent's parameters as Stripe documents them, then its outcome.
    def charge_off_session(
        self,
        *,
        account: str,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
        application_fee_amount: int | None,
    ) -> ChargeOutcome:
        phi_guard.check_outbound(description=description, metadata=metadata)
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            "off_session": True,
            "description": description,
        }
        if metadata:
            params["metadata"] = dict(metadata)
        if application_fee_amount is not None:
            params["application_fee_amount"] = application_fee_amount
        client = self._stripe()
        import stripe  # noqa: PLC0415 - the SDK is heavy: loaded on the first Stripe call only

        try:
            intent = client.v1.payment_intents.create(
                params, _options(account=account, idempotency_key=idempotency_key)
            )
        except stripe.CardError as err:
            # A decline (or authentication_required) is an outcome, replayed identically by
            # Stripe for a retry with the same idempotency key.
            return _outcome_from_card_error(err)
        except stripe.StripeError as err:
            _raise_translated("charge_off_session", err)
        return _outcome_from_payment_intent(_as_dict(intent))

    def retrieve_payment_intent(self, *, account: str, payment_intent_id: str) -> PaymentIntentState:
        with _translated("retrieve_payment_intent"):
            intent = self._stripe().v1.payment_intents.retrieve(
                payment_intent_id, None, _options(account=account)
            )
        data = _as_dict(intent)
        last_error = data.get("last_payment_error")
        last_error = last_error if isinstance(last_error, Mapping) else {}
        client_secret = data.get("client_secret")
        return PaymentIntentState(
            id=str(data["id"]),
            status=str(data["status"]),
            amount=int(data["amount"]),
            currency=str(data["currency"]),
            client_secret=str(client_secret) if client_secret else None,
            metadata=_str_dict(data.get("metadata")),
            last_error_code=_str_or_none(last_error.get("code")),
            last_decline_code=_str_or_none(last_error.get("decline_code")),
            payment_method_id=_id_of(data.get("payment_method")),
        )

    def create_payment_intent(
        self,
        *,
        account: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
        customer_id: str | None = None,
        payment_method_id: str | None = None,
        setup_future_usage: Literal["on_session", "off_session"] | None = None,
    ) -> ClientPaymentIntent:
        phi_guard.check_outbound(description=description, metadata=metadata)
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "allowed_payment_method_types": ["card"],
            "description": description,
        }
        if metadata:
            params["metadata"] = dict(metadata)
        if customer_id is not None:
            params["customer"] = customer_id
        if payment_method_id is not None:
            params["payment_method"] = payment_method_id  # a saved card offered on the page
        if setup_future_usage is not None:
            params["setup_future_usage"] = setup_future_usage
        with _translated("create_payment_intent"):
            intent = self._stripe().v1.payment_intents.create(
                params, _options(account=account, idempotency_key=idempotency_key)
            )
        data = _as_dict(intent)
        return ClientPaymentIntent(
            id=str(data["id"]), client_secret=str(data["client_secret"]), status=str(data["status"])
        )

    def cancel_payment_intent(self, *, account: str, payment_intent_id: str, idempotency_key: str) -> str:
        params: PaymentIntentCancelParams = {"cancellation_reason": "abandoned"}
        client = self._stripe()
        try:
            with _translated("cancel_payment_intent"):
                intent = client.v1.payment_intents.cancel(
                    payment_intent_id, params, _options(account=account, idempotency_key=idempotency_key)
                )
        except GatewayRejectedError:
            # Stripe refuses to cancel a PaymentIntent that succeeded, is processing or is
            # already canceled (400 payment_intent_unexpected_state). Read the state rather than
            # the error text: a success the client made first must not be lost.
            state = self.retrieve_payment_intent(account=account, payment_intent_id=payment_intent_id)
            if state.status in ("succeeded", "processing", "canceled"):
                return state.status
            raise
        return str(_as_dict(intent)["status"])

    def refund(
        self,
        *,
        account: str,
        payment_intent_id: str,
        amount: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundState:
        phi_guard.check_outbound(metadata=metadata)
        params: RefundCreateParams = {"payment_intent": payment_intent_id, "amount": amount}
        if metadata:
            params["metadata"] = dict(metadata)
        with _translated("refund"):
            refund = self._stripe().v1.refunds.create(
                params, _options(account=account, idempotency_key=idempotency_key)
            )
        return refund_state(_as_dict(refund))

    # ------------------------------------------------------------------ connected accounts

    def create_connected_account(
        self, *, idempotency_key: str, email: str | None, country: str, metadata: dict[str, str]
    ) -> AccountState:
        phi_guard.check_outbound(metadata=metadata)
        params: AccountCreateParams = {
            "country": country.upper(),
            "controller": _CONNECTED_ACCOUNT_CONTROLLER,
        }
        if email is not None:
            params["email"] = email
        if metadata:
            params["metadata"] = dict(metadata)
        with _translated("create_connected_account"):
            # A platform call: no Stripe-Account header.
            created = self._stripe().v1.accounts.create(params, _options(idempotency_key=idempotency_key))
        return _account_state(_as_dict(created))

    def retrieve_account(self, *, account: str) -> AccountState:
        with _translated("retrieve_account"):
            # GET /v1/accounts/{id} as the platform (Stripe's documented form for Connect).
            fetched = self._stripe().v1.accounts.retrieve(_checked_account(account), None, _options())
        return _account_state(_as_dict(fetched))

    def create_account_link(self, *, account: str, refresh_url: str, return_url: str) -> str:
        params: AccountLinkCreateParams = {
            "account": _checked_account(account),
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
        with _translated("create_account_link"):
            # A platform call naming the account in the body; links are single-use and cheap,
            # so the SDK's own generated idempotency key (for its retries) is enough.
            link = self._stripe().v1.account_links.create(params, _options())
        return str(_as_dict(link)["url"])


# ---------------------------------------------------------------------- helpers


def _checked_account(account: str) -> str:
    if not account.startswith("acct_"):
        raise GatewayRejectedError("a connected account id starts with acct_", account=account)
    return account


def _options(*, account: str | None = None, idempotency_key: str | None = None) -> Any:
    options: dict[str, str] = {}
    if account is not None:
        options["stripe_account"] = _checked_account(account)
    if idempotency_key is not None:
        if not idempotency_key:
            raise GatewayRejectedError("an idempotency key is required")
        options["idempotency_key"] = idempotency_key
    return options


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Turn the SDK's errors into the port's: retryable → GatewayUnavailableError,
    refused → GatewayRejectedError."""
    import stripe  # noqa: PLC0415 - the SDK is heavy: loaded on the first Stripe call only

    try:
        yield
    except stripe.StripeError as err:
        _raise_translated(operation, err)


def _raise_translated(operation: str, err: Any) -> NoReturn:
    import stripe  # noqa: PLC0415 - the SDK is heavy: loaded on the first Stripe call only

    details: dict[str, Any] = {
        "operation": operation,
        "http_status": getattr(err, "http_status", None),
        "code": getattr(err, "code", None),
        "request_id": getattr(err, "request_id", None),
    }
    message = f"Stripe {operation}: {err.user_message or type(err).__name__}"
    if isinstance(err, (stripe.APIConnectionError, stripe.RateLimitError)):
        raise GatewayUnavailableError(message, **details) from err
    if isinstance(
        err,
        (
            stripe.InvalidRequestError,
            stripe.AuthenticationError,
            stripe.PermissionError,
            stripe.IdempotencyError,
            stripe.CardError,
        ),
    ):
        raise GatewayRejectedError(message, **details) from err
    # Anything else (stripe.APIError and friends) is judged by its status: 5xx (already retried by
    # the SDK), 409 (a concurrent request with the same idempotency key) or no answer at all is
    # worth retrying later; another 4xx (e.g. a 404 with an unreadable body) is not.
    status = details["http_status"]
    if status is None or status >= 500 or status in (409, 429):
        raise GatewayUnavailableError(message, **details) from err
    raise GatewayRejectedError(message, **details) from err


def refund_state(data: Mapping[str, Any]) -> RefundState:
    """A Stripe refund object (from a response or a webhook) in our terms."""
    return RefundState(
        id=str(data["id"]),
        status=str(data.get("status") or "pending"),
        amount=int(data["amount"]),
        currency=str(data["currency"]),
        payment_intent_id=_str_or_none(data.get("payment_intent")),
        metadata=_str_dict(data.get("metadata")),
        failure_reason=_str_or_none(data.get("failure_reason")),
    )


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is None:
        raise GatewayRejectedError("unexpected response from Stripe")
    result: dict[str, Any] = to_dict()
    return result


def _id_of(value: Any) -> str | None:
    """An id field that may be a plain id or an expanded object."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        inner = value.get("id")
        return str(inner) if inner else None
    return str(value)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _charge_id(intent: Mapping[str, Any]) -> str | None:
    latest = _id_of(intent.get("latest_charge"))
    if latest:
        return latest
    charges = intent.get("charges")  # API versions before 2022-11-15
    if isinstance(charges, Mapping):
        data = charges.get("data")
        if isinstance(data, list) and data:
            return _id_of(data[0])
    return None


def _outcome_from_payment_intent(intent: Mapping[str, Any]) -> ChargeOutcome:
    status = intent.get("status")
    intent_id = _id_of(intent.get("id"))
    last_error = intent.get("last_payment_error")
    last_error = last_error if isinstance(last_error, Mapping) else {}
    if status == "succeeded":
        return ChargeOutcome(status="succeeded", payment_intent_id=intent_id, charge_id=_charge_id(intent))
    if status == "processing":
        return ChargeOutcome(status="processing", payment_intent_id=intent_id, charge_id=_charge_id(intent))
    if status == "requires_action":
        # localstripe's answer to an off-session 3-D Secure card (real Stripe raises 402).
        return ChargeOutcome(
            status="requires_action",
            payment_intent_id=intent_id,
            decline_code=_str_or_none(last_error.get("decline_code")),
            error_code=_str_or_none(last_error.get("code")),
            message=_str_or_none(last_error.get("message")),
        )
    if status == "requires_payment_method":
        code = _str_or_none(last_error.get("code"))
        return ChargeOutcome(
            status="requires_action" if code == "authentication_required" else "declined",
            payment_intent_id=intent_id,
            decline_code=_str_or_none(last_error.get("decline_code")),
            error_code=code,
            message=_str_or_none(last_error.get("message")),
            charge_id=_charge_id(intent),
        )
    raise GatewayRejectedError(
        f"unexpected PaymentIntent status {status!r} after an off-session confirm",
        payment_intent_id=intent_id,
        status=status,
    )


def _outcome_from_card_error(err: Any) -> ChargeOutcome:
    body = err.json_body if isinstance(err.json_body, Mapping) else {}
    error = body.get("error")
    error = error if isinstance(error, Mapping) else {}
    code = _str_or_none(err.code) or _str_or_none(error.get("code"))
    intent = error.get("payment_intent")
    intent_status = intent.get("status") if isinstance(intent, Mapping) else None
    requires_action = code == "authentication_required" or intent_status == "requires_action"
    charge_id = _id_of(error.get("charge"))
    if charge_id is None and isinstance(intent, Mapping):
        charge_id = _charge_id(intent)
    return ChargeOutcome(
        status="requires_action" if requires_action else "declined",
        payment_intent_id=_id_of(intent),
        decline_code=_str_or_none(error.get("decline_code")),
        error_code=code,
        message=_str_or_none(error.get("message")) or _str_or_none(err.user_message),
        charge_id=charge_id,
    )


def _account_state(data: Mapping[str, Any]) -> AccountState:
    return AccountState(
        id=str(data["id"]),
        charges_enabled=bool(data.get("charges_enabled")),
        payouts_enabled=bool(data.get("payouts_enabled")),
        details_submitted=bool(data.get("details_submitted")),
    )
