"""An in-memory fake of the Stripe v1 HTTP API, plugged into the real SDK as its HTTP client.

    fake = FakeStripe()
    account = fake.create_connected_account()          # onboarded (charges_enabled) by default
    gateway = StripeGateway("sk_test_fake", http_client=fake.http_client())
    ... gateway.charge_off_session(account=account, payment_method_id="pm_card_visa", ...)
    fake.requests[-1].idempotency_key, fake.events_of_type("payment_intent.succeeded")

Everything above the socket is real: the SDK builds, encodes, retries and parses exactly as it does
against api.stripe.com, and this fake answers as Stripe documents (docs.stripe.com: API reference,
"Testing", "Idempotent requests", "Connect: direct charges", "Charging saved cards", "Webhooks").
tests/contract/test_stripe_gateway_contract.py runs the same scenarios against localstripe, so the
fake cannot drift from a real implementation where localstripe is faithful.

What it models (and the Stripe facts behind each):
- Form-encoded params (``metadata[k]=v``, ``list[0]=x``, ``list[]=x``) parsed per endpoint schema;
  an unknown parameter is ``400 parameter_unknown`` ("Received unknown parameter: x"), a missing one
  ``parameter_missing``, a bad integer/boolean ``parameter_invalid_integer``/``..._boolean``.
- Connect scoping: objects live under the account named by the ``Stripe-Account`` header (or the
  platform). An object of account A is ``404 resource_missing`` on account B; an unknown connected
  account is 403 (the key "does not have access to account").
- Idempotency (v1): the first response for a key is saved once the endpoint starts executing
  (validation failures are not saved; 402 card errors are) and replayed, with
  ``Idempotent-Replayed: true``, for the same key + same endpoint + same params; a different request
  with the key is ``400 idempotency_error``. Keys are scoped per account. Only POST uses them.
- API version (``Stripe-Version``): from 2026-09-30.endive ``payment_method_types`` on
  PaymentIntents/SetupIntents is ``400 payment_method_types_no_longer_supported``;
  ``allowed_payment_method_types`` exists from 2026-07-29.dahlia.
- Test payment methods by id or card number (Stripe "Testing" page), including the
  authentication cards: an off-session confirm that needs 3-D Secure fails with
  ``402 authentication_required`` and leaves the PaymentIntent in ``requires_payment_method``.
- Faults: ``fail_next(n, kind)`` with kinds "5xx", "429", "timeout" (the SDK's connection-error
  path, request never reached Stripe) and "timeout_after_commit" (Stripe did the work and saved
  the idempotent result, the answer was lost).
- Webhook events recorded in ``events`` (current-API shape, ``account`` set for connected
  accounts) and signed as Stripe signs them (``t=<ts>,v1=<hex hmac-sha256("<ts>.<payload>")>``).

Deliberate approximations: charges settle synchronously (no ``processing``); no balance
transactions, disputes, payouts; error messages are close to Stripe's but tests must not match
on them (match codes).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import io
import json
import random
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import stripe
from requests.structures import CaseInsensitiveDict

FaultKind = Literal["5xx", "429", "timeout", "timeout_after_commit"]

PLATFORM_ACCOUNT = "acct_1FakePlatform0000000000"
DEFAULT_WEBHOOK_SECRET = "whsec_fake_stripe_test_secret"

# Versions at which behaviour the fake models changed (Stripe changelog).
_VERSION_ALLOWED_PMT_ADDED = "2026-07-29"  # dahlia: allowed_payment_method_types added
_VERSION_PMT_REMOVED = "2026-09-30"  # endive: payment_method_types no longer writable
_VERSION_LATEST_CHARGE = "2022-11-15"  # PaymentIntent.charges replaced by latest_charge

# Minimum charge amounts per currency (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
_MINIMUM_AMOUNT = {"usd": 50, "cad": 50, "aud": 50, "eur": 50, "gbp": 30, "nzd": 50, "chf": 50}


# ---------------------------------------------------------------------------------- test cards


@dataclass(frozen=True)
class TestCard:
    """How a Stripe test card behaves (docs.stripe.com/testing)."""

    __test__ = False  # not a pytest test class

    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    # (code, decline_code, message) when a charge is attempted; None = approved.
    decline: tuple[str, str, str] | None = None
    # Declined cards are also declined when attached / set up, except "decline after attaching".
    declines_on_attach: bool = True
    # 3-D Secure: "none"; "on_setup" (needs authentication unless set up for off-session with
    # authentication); "always" (every payment, even after set-up); "setup_for_off_session"
    # (already set up: off-session payments succeed, on-session ones need authentication).
    auth: Literal["none", "on_setup", "always", "setup_for_off_session"] = "none"


_GENERIC = ("card_declined", "generic_decline", "Your card was declined.")
_INSUFFICIENT = ("card_declined", "insufficient_funds", "Your card has insufficient funds.")

TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa"),
        TestCard("4000056655665556", "visa", funding="debit"),
        TestCard("5555555555554444", "mastercard"),
        TestCard("5200828282828210", "mastercard", funding="debit"),
        TestCard("378282246310005", "amex"),
        TestCard("6011111111111117", "discover"),
        TestCard("4000000000000002", "visa", decline=_GENERIC),
        TestCard("4000000000009995", "visa", decline=_INSUFFICIENT),
        TestCard(
            "4000000000009987", "visa", decline=("card_declined", "lost_card", "Your card was declined.")
        ),
        TestCard(
            "4000000000009979", "visa", decline=("card_declined", "stolen_card", "Your card was declined.")
        ),
        TestCard(
            "4000000000000069", "visa", decline=("expired_card", "expired_card", "Your card has expired.")
        ),
        TestCard(
            "4000000000000127",
            "visa",
            decline=("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
        ),
        TestCard(
            "4000000000000119",
            "visa",
            decline=(
                "processing_error",
                "processing_error",
                "An error occurred while processing your card. Try again in a little bit.",
            ),
        ),
        # "Decline after attaching": attaching succeeds, charges fail.
        TestCard("4000000000000341", "visa", decline=_GENERIC, declines_on_attach=False),
        TestCard("4000002500003155", "visa", auth="on_setup"),
        TestCard("4000002760003184", "visa", auth="always"),
        TestCard("4000003800000446", "visa", auth="setup_for_off_session"),
        TestCard("4000008260003178", "visa", auth="always", decline=_INSUFFICIENT, declines_on_attach=False),
    )
}

# Test PaymentMethod ids (token-like aliases: each use creates a new pm_ object).
PM_ALIASES: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredSetupForOffSession": "4000003800000446",
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": "4000008260003178",
}


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(number)):
        digit = int(char) * (2 if i % 2 == 1 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _card_for_number(number: str) -> TestCard | None:
    if number in TEST_CARDS:
        return TEST_CARDS[number]
    if not number.isdigit() or not 13 <= len(number) <= 19 or not _luhn_ok(number):
        return None
    brand = {"4": "visa", "5": "mastercard", "3": "amex", "6": "discover"}.get(number[0], "unknown")
    return TestCard(number, brand)


# ---------------------------------------------------------------------------------- errors


class _StripeFault(Exception):
    """An error answer. ``saved`` says whether the idempotency layer stores it (Stripe stores
    results only once the endpoint has started executing, so not validation failures)."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: Mapping[str, Any] | None = None,
        saved: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.saved = saved
        error: dict[str, Any] = {"type": error_type, "message": message}
        if code is not None:
            error["code"] = code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param is not None:
            error["param"] = param
        if decline_code is not None:
            error["decline_code"] = decline_code
        if extra:
            error.update(extra)
        self.error = error


def _invalid(
    message: str, *, code: str | None = None, param: str | None = None, saved: bool = True, status: int = 400
) -> _StripeFault:
    return _StripeFault(status, "invalid_request_error", message, code=code, param=param, saved=saved)


def _missing(kind: str, object_id: str, param: str | None = None) -> _StripeFault:
    return _invalid(f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=404)


# ---------------------------------------------------------------------------------- params


def parse_form(encoded: str) -> dict[str, Any]:
    """Stripe's form encoding → nested dicts/lists: ``a[b][0][c]=v``, ``a[]=v``."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(encoded, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", raw_key)
        if match is None:
            raise _invalid(f"Invalid parameter name: {raw_key}", saved=False)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: dict[str, Any] = root
        for i, name in enumerate(parts):
            last = i == len(parts) - 1
            part = name or str(sum(1 for k in node if k.isdigit()))  # a[]=v: append
            if last:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise _invalid(f"Invalid parameter: {raw_key}", saved=False)
                node = child
    return _lists_from_indexed(root)  # type: ignore[no-any-return]


def _lists_from_indexed(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {k: _lists_from_indexed(v) for k, v in value.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return value


# A schema maps a param name (suffix "!" = required) to a spec: "str", "int", "bool", "metadata",
# "any", ("enum", (...)), ("list", spec), ("bool_or_enum", (...)) or a nested schema dict.
Schema = dict[str, Any]


def _validate(schema: Schema, params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    known = {name.rstrip("!"): spec for name, spec in schema.items()}
    result: dict[str, Any] = {}
    for name, value in params.items():
        path = f"{prefix}[{name}]" if prefix else name
        if name not in known:
            raise _invalid(
                f"Received unknown parameter: {path}", code="parameter_unknown", param=path, saved=False
            )
        result[name] = _coerce(known[name], value, path)
    for name in schema:
        if name.endswith("!") and name[:-1] not in params:
            path = f"{prefix}[{name[:-1]}]" if prefix else name[:-1]
            raise _invalid(
                f"Missing required param: {path}.", code="parameter_missing", param=path, saved=False
            )
    return result


def _coerce(spec: Any, value: Any, path: str) -> Any:
    if spec == "any":
        return value
    if isinstance(spec, dict):
        if value == "":
            return None
        if not isinstance(value, dict):
            raise _invalid(f"Invalid object: {path}", code="parameter_invalid_empty", param=path, saved=False)
        return _validate(spec, value, path)
    if spec == "metadata":
        if value == "":
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _invalid(
                "Invalid metadata: metadata must be a set of key-value pairs", param=path, saved=False
            )
        if len(value) > 50 or any(len(k) > 40 or len(v) > 500 for k, v in value.items()):
            raise _invalid(
                "Invalid metadata: at most 50 keys, keys up to 40 and values up to 500 characters",
                param=path,
                saved=False,
            )
        return dict(value)
    if isinstance(spec, tuple) and spec[0] == "list":
        if isinstance(value, dict) and not value:
            value = []
        if not isinstance(value, list):
            raise _invalid(f"Invalid array: {path}", code="parameter_invalid_array", param=path, saved=False)
        return [_coerce(spec[1], item, f"{path}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        raise _invalid(f"Invalid value for {path}", param=path, saved=False)
    if spec == "str":
        return value
    if spec == "int":
        if not re.fullmatch(r"-?\d+", value):
            raise _invalid(
                f"Invalid integer: {value}", code="parameter_invalid_integer", param=path, saved=False
            )
        return int(value)
    if spec == "bool":
        if value not in ("true", "false"):
            raise _invalid(
                f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=path, saved=False
            )
        return value == "true"
    if isinstance(spec, tuple) and spec[0] in ("enum", "bool_or_enum"):
        if spec[0] == "bool_or_enum" and value in ("true", "false"):
            return value == "true"
        if value not in spec[1]:
            raise _invalid(f"Invalid {path}: must be one of {', '.join(spec[1])}", param=path, saved=False)
        return value
    raise AssertionError(f"bad schema spec {spec!r}")


def _version_at_least(version: str, date: str) -> bool:
    return version[:10] >= date


# ---------------------------------------------------------------------------------- records


@dataclass
class RecordedRequest:
    """One HTTP attempt as the SDK sent it (retries are separate entries)."""

    method: str  # upper case
    path: str
    headers: dict[str, str]
    params: dict[str, Any]  # parsed from the body (POST) or the query string
    status: int | None = None  # None: the attempt ended in a (simulated) connection error
    replayed: bool = False
    fault: str | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")

    @property
    def stripe_account(self) -> str | None:
        return self.header("Stripe-Account")

    @property
    def stripe_version(self) -> str | None:
        return self.header("Stripe-Version")


@dataclass
class _Saved:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: str
    request_id: str
    created: float


@dataclass
class _Ctx:
    scope: str  # the account the request acts as
    version: str
    request_id: str
    idempotency_key: str | None
    publishable: bool


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., dict[str, Any]]
    schema: Schema | Callable[[str], Schema]


# ---------------------------------------------------------------------------------- the fake


class FakeStripe:
    """The Stripe API in memory. Not thread-hostile (one lock), not persistent."""

    def __init__(
        self,
        *,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        api_version: str | None = None,
        platform_account: str = PLATFORM_ACCOUNT,
        require_charges_enabled: bool = True,
        clock: Callable[[], float] = time.time,
        seed: int = 1,
    ) -> None:
        self.webhook_secret = webhook_secret
        # The account's default API version: used when a request sends no Stripe-Version, and
        # the version events are rendered in (like a webhook endpoint's pinned version).
        self.api_version = api_version or stripe.api_version
        self.platform_account = platform_account
        self.require_charges_enabled = require_charges_enabled
        self.clock = clock
        # "current": PaymentIntents carry latest_charge (API >= 2022-11-15); "legacy": also a
        # charges list and no latest_charge, as before that version (for adapter tests).
        self.payment_intent_shape: Literal["current", "legacy"] = "current"
        self.requests: list[RecordedRequest] = []
        self.events: list[dict[str, Any]] = []
        self.retry_sleeps: list[float] = []  # back-off delays the SDK asked for (skipped)
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}  # scope -> id -> object
        self._private: dict[str, dict[str, Any]] = {}  # id -> fake-only state
        self._accounts: dict[str, dict[str, Any]] = {}
        self._idempotency: dict[tuple[str, str], _Saved] = {}
        self._faults: list[tuple[FaultKind, str | None]] = []
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ plugging into the SDK

    def http_client(self, *, fast_retries: bool = True) -> FakeStripeHTTPClient:
        """A ``stripe.HTTPClient`` that answers from this fake. With ``fast_retries`` the SDK's
        retry back-off is recorded in ``retry_sleeps`` but not slept."""
        return FakeStripeHTTPClient(self, fast_retries=fast_retries)

    def client(
        self,
        api_key: str = "sk_test_fake",
        *,
        stripe_account: str | None = None,
        max_network_retries: int = 0,
    ) -> stripe.StripeClient:
        """A raw ``stripe.StripeClient`` on this fake (for arranging test data as a browser or the
        Dashboard would)."""
        return stripe.StripeClient(
            api_key,
            stripe_account=stripe_account,
            http_client=self.http_client(),
            max_network_retries=max_network_retries,
        )

    # ------------------------------------------------------------------ test knobs

    def fail_next(self, n: int = 1, kind: FaultKind = "5xx", *, path: str | None = None) -> None:
        """The next ``n`` HTTP attempts (optionally only those whose path starts with ``path``)
        fail: "5xx" → 500 api_error, "429" → 429 rate_limit, "timeout" → the SDK's
        APIConnectionError before Stripe saw the request, "timeout_after_commit" → Stripe did the
        work (and saved it under the idempotency key) but the answer was lost."""
        if kind not in ("5xx", "429", "timeout", "timeout_after_commit"):
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.extend([(kind, path)] * n)

    def create_connected_account(
        self,
        *,
        country: str = "US",
        email: str | None = None,
        onboarded: bool = True,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Arrange a connected account without an API call (not logged in ``requests``)."""
        with self._lock:
            account = self._new_account(country=country, email=email, metadata=dict(metadata or {}))
            if onboarded:
                self._set_onboarded(account["id"], emit=False)
            return str(account["id"])

    def complete_onboarding(self, account: str) -> None:
        """The practice finished Stripe's hosted onboarding: charges and payouts enabled;
        emits ``account.updated`` (a Connect event: ``account`` is set)."""
        with self._lock:
            if account not in self._accounts:
                raise KeyError(account)
            self._set_onboarded(account, emit=True)

    def complete_setup_authentication(
        self, account: str | None, setup_intent_id: str, *, succeed: bool = True
    ) -> None:
        """The customer completes (or fails) 3-D Secure for a SetupIntent in requires_action."""
        with self._lock:
            scope = account or self.platform_account
            intent = self._get(scope, setup_intent_id, "setup_intent")
            if intent["status"] != "requires_action":
                raise ValueError(f"{setup_intent_id} is {intent['status']}, not requires_action")
            ctx = self._internal_ctx(scope)
            intent["next_action"] = None
            pm_id = intent["payment_method"]
            if succeed:
                self._private[pm_id]["off_session_ready"] = intent["usage"] == "off_session"
                self._setup_succeeded(ctx, intent, pm_id)
            else:
                intent["status"] = "requires_payment_method"
                intent["payment_method"] = None
                intent["last_setup_error"] = {
                    "type": "invalid_request_error",
                    "code": "setup_intent_authentication_failure",
                    "message": "The latest attempt to set up the payment method has failed because "
                    "authentication failed.",
                    "payment_method": copy.deepcopy(self._get(scope, pm_id, "payment_method")),
                }
                self._emit(ctx, "setup_intent.setup_failed", intent)

    def authenticate_payment_intent(
        self, account: str | None, payment_intent_id: str, *, succeed: bool = True
    ) -> None:
        """The customer completes (or fails) 3-D Secure for an on-session PaymentIntent."""
        with self._lock:
            scope = account or self.platform_account
            intent = self._get(scope, payment_intent_id, "payment_intent")
            if intent["status"] != "requires_action":
                raise ValueError(f"{payment_intent_id} is {intent['status']}, not requires_action")
            ctx = self._internal_ctx(scope)
            intent["next_action"] = None
            if succeed:
                with contextlib.suppress(_StripeFault):  # a decline is recorded on the intent
                    self._attempt_charge(ctx, intent, authenticated=True)
            else:
                pm = self._get(scope, intent["payment_method"], "payment_method")
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication.",
                    "payment_method": copy.deepcopy(pm),
                }
                self._emit(ctx, "payment_intent.payment_failed", intent)

    def pay_on_page(
        self,
        account: str | None,
        client_secret: str,
        *,
        payment_method: str = "pm_card_visa",
        authenticate: bool = True,
    ) -> dict[str, Any]:
        """What Stripe.js does on a pay page: confirm the PaymentIntent with the publishable key
        and its client secret; a card that asks for 3-D Secure is then authenticated by the
        customer (or not, with ``authenticate=False``). Returns the PaymentIntent as it ends."""
        intent_id = client_secret.split("_secret_", maxsplit=1)[0]
        browser = self.client("pk_test_fake_browser", stripe_account=account)
        with contextlib.suppress(stripe.CardError):  # a decline is recorded on the intent
            confirmed = browser.v1.payment_intents.confirm(
                intent_id, {"payment_method": payment_method, "client_secret": client_secret}
            )
            if confirmed.status == "requires_action" and authenticate:
                self.authenticate_payment_intent(account, intent_id)
        return self.get(account, intent_id)

    # ------------------------------------------------------------------ inspecting

    def get(self, account: str | None, object_id: str) -> dict[str, Any]:
        """A copy of a stored object as Stripe would return it."""
        with self._lock:
            scope = account or self.platform_account
            obj = self._objects.get(scope, {}).get(object_id)
            if obj is None and object_id in self._accounts:
                obj = self._accounts[object_id]
            if obj is None:
                raise KeyError(f"{object_id} on {scope}")
            return self._render(obj)

    def events_of_type(self, event_type: str, *, account: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["type"] == event_type and (account is None or e.get("account") == account)
        ]

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.startswith(path_prefix) and (method is None or r.method == method.upper())
        ]

    # ------------------------------------------------------------------ webhooks

    def sign(
        self, payload: str | bytes, *, secret: str | Sequence[str] | None = None, timestamp: int | None = None
    ) -> str:
        """The ``Stripe-Signature`` header value for ``payload``: ``t=<ts>,v1=<hex>`` where hex is
        HMAC-SHA256(secret, "<ts>.<payload>"); several secrets give several v1 entries (as during
        a secret roll)."""
        body = payload.decode() if isinstance(payload, bytes) else payload
        ts = int(self.clock()) if timestamp is None else timestamp
        secrets_ = [secret] if isinstance(secret, str) else list(secret or [self.webhook_secret])
        signed = f"{ts}.{body}".encode()
        parts = [f"t={ts}"]
        parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets_]
        return ",".join(parts)

    def webhook_request(
        self,
        event: Mapping[str, Any],
        *,
        secret: str | Sequence[str] | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers Stripe would POST to a webhook endpoint for ``event``."""
        body = json.dumps(event, indent=2, sort_keys=True)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": self.sign(body, secret=secret, timestamp=timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        return body.encode(), headers

    # ------------------------------------------------------------------ the HTTP surface

    def handle(
        self, method: str, url: str, headers: Mapping[str, str] | None, body: str | bytes | None
    ) -> tuple[str, int, CaseInsensitiveDict[str]]:
        """Answer one HTTP request as Stripe would: (body, status, headers). Raises
        ``stripe.APIConnectionError`` for the simulated connection faults."""
        with self._lock:
            method = method.upper()
            parts = urlsplit(url)
            path = parts.path
            encoded = body.decode() if isinstance(body, bytes) else (body or "")
            if method != "POST":
                encoded = parts.query
            header_map: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(headers or {}))
            try:
                raw_params = parse_form(encoded)
            except _StripeFault:
                raw_params = {}
            record = RecordedRequest(
                method=method, path=path, headers=dict(header_map.items()), params=raw_params
            )
            self.requests.append(record)
            request_id = self._new_id("req")

            fault = self._take_fault(path)
            record.fault = fault
            if fault == "timeout":
                raise stripe.APIConnectionError(
                    "Network error: timed out (simulated by FakeStripe)", should_retry=True
                )
            if fault == "5xx":
                return self._answer(
                    record,
                    request_id,
                    500,
                    {
                        "error": {
                            "type": "api_error",
                            "message": "An unknown error occurred (simulated by FakeStripe)",
                        }
                    },
                )
            if fault == "429":
                return self._answer(
                    record,
                    request_id,
                    429,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "rate_limit",
                            "message": "Too many requests hit the API too quickly (simulated by FakeStripe).",
                        }
                    },
                )

            status, payload, replay = self._execute(method, path, encoded, header_map, request_id)
            if fault == "timeout_after_commit":
                raise stripe.APIConnectionError(
                    "Network error: response lost (simulated by FakeStripe)", should_retry=True
                )
            if replay is not None:
                record.status, record.replayed = replay.status, True
                resp_headers = self._headers(request_id)
                resp_headers["Idempotent-Replayed"] = "true"
                resp_headers["Original-Request"] = replay.request_id
                return replay.body, replay.status, resp_headers
            return self._answer(record, request_id, status, payload)

    def _answer(
        self, record: RecordedRequest, request_id: str, status: int, payload: Mapping[str, Any]
    ) -> tuple[str, int, CaseInsensitiveDict[str]]:
        record.status = status
        return json.dumps(payload, indent=2), status, self._headers(request_id)

    def _headers(self, request_id: str) -> CaseInsensitiveDict[str]:
        return CaseInsensitiveDict(
            {"Content-Type": "application/json", "Request-Id": request_id, "Stripe-Version": self.api_version}
        )

    def _execute(
        self, method: str, path: str, encoded: str, headers: CaseInsensitiveDict[str], request_id: str
    ) -> tuple[int, dict[str, Any], _Saved | None]:
        idempotency_key = headers.get("Idempotency-Key") if method == "POST" else None
        scope = self.platform_account
        try:
            publishable = self._authenticate(headers)
            scope = self._scope(headers.get("Stripe-Account"))
            params = parse_form(encoded)
            route, groups = self._route(method, path)
            if idempotency_key:
                saved = self._idempotency.get((scope, idempotency_key))
                if saved is not None and self.clock() - saved.created < 24 * 3600:
                    if (saved.method, saved.path) != (method, path):
                        raise _StripeFault(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used for the same "
                            f"endpoint they were first used for ('{saved.method} "
                            f"{saved.path}' vs '{method} {path}'). Try using a key other "
                            f"than '{idempotency_key}' if you meant to execute a "
                            "different request.",
                            saved=False,
                        )
                    if saved.params != params:
                        raise _StripeFault(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other "
                            f"than '{idempotency_key}' if you meant to execute a "
                            "different request.",
                            saved=False,
                        )
                    return saved.status, {}, saved
            version = headers.get("Stripe-Version") or self.api_version
            ctx = _Ctx(
                scope=scope,
                version=version,
                request_id=request_id,
                idempotency_key=idempotency_key,
                publishable=publishable,
            )
            schema = route.schema(version) if callable(route.schema) else route.schema
            validated = _validate({**schema, "expand": ("list", "str")}, params)
            if publishable and route.handler not in (
                self._create_payment_method,
                self._confirm_setup_intent,
                self._confirm_payment_intent,
            ):
                raise _invalid(
                    "This API call cannot be made with a publishable API key.", status=401, saved=False
                )
            expand = validated.pop("expand", None) or []
            result = route.handler(ctx, validated, **groups)
            status, payload = 200, self._render(result, expand=expand, scope=scope)
        except _StripeFault as fault:
            status, payload = fault.status, {"error": self._render(fault.error)}
            if not fault.saved:
                return status, payload, None
        if idempotency_key:
            self._idempotency[(scope, idempotency_key)] = _Saved(
                method=method,
                path=path,
                params=parse_form(encoded),
                status=status,
                body=json.dumps(payload, indent=2),
                request_id=request_id,
                created=self.clock(),
            )
        return status, payload, None

    def _take_fault(self, path: str) -> FaultKind | None:
        for i, (kind, prefix) in enumerate(self._faults):
            if prefix is None or path.startswith(prefix):
                del self._faults[i]
                return kind
        return None

    def _authenticate(self, headers: CaseInsensitiveDict[str]) -> bool:
        auth = headers.get("Authorization", "")
        key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if key.startswith(("sk_test_", "rk_test_")) and len(key) > 8:
            return False
        if key.startswith("pk_test_") and len(key) > 8:
            return True
        raise _invalid(f"Invalid API Key provided: {key[:8]}***", status=401, saved=False)

    def _scope(self, account_header: str | None) -> str:
        if not account_header or account_header == self.platform_account:
            return self.platform_account
        if account_header not in self._accounts:
            raise _StripeFault(
                403,
                "invalid_request_error",
                "The provided key does not have access to account "
                f"'{account_header}' (or that account does not exist). Application "
                "access may have been revoked.",
                code="account_invalid",
                saved=False,
            )
        return account_header

    def _route(self, method: str, path: str) -> tuple[_Route, dict[str, str]]:
        for route in self._routes:
            if route.method == method:
                match = route.pattern.fullmatch(path)
                if match:
                    return route, match.groupdict()
        raise _invalid(
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            status=404,
            saved=False,
        )

    # ------------------------------------------------------------------ storage helpers

    def _new_id(self, prefix: str) -> str:
        alphabet = string.ascii_letters + string.digits
        return f"{prefix}_{''.join(self._rng.choice(alphabet) for _ in range(24))}"

    def _store(self, scope: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._objects.setdefault(scope, {})[obj["id"]] = obj
        return obj

    def _get(self, scope: str, object_id: str, kind: str, *, param: str | None = None) -> dict[str, Any]:
        obj = self._objects.get(scope, {}).get(object_id)
        if obj is None or obj.get("object") != kind or obj.get("deleted"):
            raise _missing(kind, object_id, param)
        return obj

    def _now(self) -> int:
        return int(self.clock())

    def _internal_ctx(self, scope: str) -> _Ctx:
        return _Ctx(
            scope=scope,
            version=self.api_version,
            request_id=self._new_id("req"),
            idempotency_key=None,
            publishable=False,
        )

    def _render(self, obj: Any, *, expand: Iterable[str] = (), scope: str | None = None) -> Any:
        """A JSON-ready deep copy; top-level ``expand`` paths replace ids with objects."""
        out = copy.deepcopy(obj)
        if scope is not None and isinstance(out, dict):
            for path in expand:
                head, _, _ = path.partition(".")
                value = out.get(head)
                if isinstance(value, str):
                    target = self._objects.get(scope, {}).get(value)
                    if target is not None:
                        out[head] = copy.deepcopy(target)
        return out

    def _emit(
        self,
        ctx: _Ctx,
        event_type: str,
        obj: Mapping[str, Any],
        previous_attributes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": self._render(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = dict(previous_attributes)
        event: dict[str, Any] = {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": self._now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
            "type": event_type,
        }
        if ctx.scope != self.platform_account:
            event["account"] = ctx.scope  # Connect events name the connected account
        self.events.append(event)
        self._store(ctx.scope, copy.deepcopy(event))
        return event

    # ------------------------------------------------------------------ routes

    def _build_routes(self) -> list[_Route]:
        oid = r"(?P<object_id>[A-Za-z0-9_]+)"

        def route(
            method: str,
            path: str,
            handler: Callable[..., dict[str, Any]],
            schema: Schema | Callable[[str], Schema],
        ) -> _Route:
            return _Route(method, re.compile(path.replace("{id}", oid)), handler, schema)

        return [
            route("POST", "/v1/customers", self._create_customer, _CUSTOMER_SCHEMA),
            route("GET", "/v1/customers/{id}", self._retrieve("customer"), {}),
            route("POST", "/v1/customers/{id}", self._update_customer, _CUSTOMER_SCHEMA),
            route("DELETE", "/v1/customers/{id}", self._delete_customer, {}),
            route(
                "GET",
                "/v1/customers/{id}/payment_methods",
                self._list_customer_payment_methods,
                {"type": "str", "limit": "int", "starting_after": "str", "ending_before": "str"},
            ),
            route("POST", "/v1/payment_methods", self._create_payment_method, _PAYMENT_METHOD_SCHEMA),
            route(
                "GET",
                "/v1/payment_methods",
                self._list_payment_methods,
                {
                    "customer": "str",
                    "type": "str",
                    "limit": "int",
                    "starting_after": "str",
                    "ending_before": "str",
                },
            ),
            route("GET", "/v1/payment_methods/{id}", self._retrieve_payment_method, {}),
            route(
                "POST",
                "/v1/payment_methods/{id}",
                self._update_payment_method,
                {"metadata": "metadata", "billing_details": "any", "allow_redisplay": "str"},
            ),
            route(
                "POST", "/v1/payment_methods/{id}/attach", self._attach_payment_method, {"customer!": "str"}
            ),
            route("POST", "/v1/payment_methods/{id}/detach", self._detach_payment_method, {}),
            route("POST", "/v1/setup_intents", self._create_setup_intent, _setup_intent_schema),
            route("GET", "/v1/setup_intents/{id}", self._retrieve("setup_intent"), {"client_secret": "str"}),
            route(
                "POST",
                "/v1/setup_intents/{id}/confirm",
                self._confirm_setup_intent,
                {
                    "payment_method": "str",
                    "return_url": "str",
                    "client_secret": "str",
                    "use_stripe_sdk": "bool",
                    "mandate_data": "any",
                    "payment_method_options": "any",
                },
            ),
            route(
                "POST",
                "/v1/setup_intents/{id}/cancel",
                self._cancel_setup_intent,
                {"cancellation_reason": ("enum", ("abandoned", "duplicate", "requested_by_customer"))},
            ),
            route("POST", "/v1/payment_intents", self._create_payment_intent, _payment_intent_schema),
            route(
                "GET", "/v1/payment_intents/{id}", self._retrieve("payment_intent"), {"client_secret": "str"}
            ),
            route(
                "POST",
                "/v1/payment_intents/{id}/confirm",
                self._confirm_payment_intent,
                {
                    "payment_method": "str",
                    "client_secret": "str",
                    "off_session": ("bool_or_enum", ("one_off", "recurring")),
                    "return_url": "str",
                    "error_on_requires_action": "bool",
                    "payment_method_options": "any",
                    "mandate_data": "any",
                    "use_stripe_sdk": "bool",
                },
            ),
            route(
                "POST",
                "/v1/payment_intents/{id}/cancel",
                self._cancel_payment_intent,
                {
                    "cancellation_reason": (
                        "enum",
                        ("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
                    )
                },
            ),
            route("GET", "/v1/charges/{id}", self._retrieve("charge"), {}),
            route(
                "POST",
                "/v1/refunds",
                self._create_refund,
                {
                    "payment_intent": "str",
                    "charge": "str",
                    "amount": "int",
                    "metadata": "metadata",
                    "reason": ("enum", ("duplicate", "fraudulent", "requested_by_customer")),
                    "refund_application_fee": "bool",
                    "reverse_transfer": "bool",
                },
            ),
            route("GET", "/v1/refunds/{id}", self._retrieve("refund"), {}),
            route("POST", "/v1/accounts", self._create_account, _ACCOUNT_SCHEMA),
            route("GET", "/v1/accounts/{id}", self._retrieve_account, {}),
            route("GET", "/v1/account", self._retrieve_own_account, {}),
            route(
                "POST",
                "/v1/account_links",
                self._create_account_link,
                {
                    "account!": "str",
                    "refresh_url": "str",
                    "return_url": "str",
                    "type!": ("enum", ("account_onboarding", "account_update")),
                    "collect": ("enum", ("currently_due", "eventually_due")),
                    "collection_options": "any",
                },
            ),
            route("GET", "/v1/events/{id}", self._retrieve("event"), {}),
        ]

    def _retrieve(self, kind: str) -> Callable[..., dict[str, Any]]:
        def handler(ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
            obj = self._get(ctx.scope, object_id, kind)
            if "client_secret" in params and params["client_secret"] != obj.get("client_secret"):
                raise _invalid(
                    "The client_secret provided does not match the client_secret associated with the object.",
                    param="client_secret",
                    status=400,
                )
            if kind == "payment_intent":
                return self._payment_intent_view(ctx, obj)
            return obj

        return handler

    # ------------------------------------------------------------------ customers

    def _create_customer(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        customer = self._store(
            ctx.scope,
            {
                "id": self._new_id("cus"),
                "object": "customer",
                "address": None,
                "balance": 0,
                "created": self._now(),
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "description": params.get("description"),
                "email": params.get("email"),
                "invoice_prefix": self._new_id("x")[2:10].upper(),
                "invoice_settings": {
                    "custom_fields": None,
                    "default_payment_method": None,
                    "footer": None,
                    "rendering_options": None,
                },
                "livemode": False,
                "metadata": params.get("metadata") or {},
                "name": params.get("name"),
                "phone": params.get("phone"),
                "preferred_locales": params.get("preferred_locales") or [],
                "shipping": None,
                "tax_exempt": "none",
                "test_clock": None,
            },
        )
        if params.get("payment_method"):
            self._attach(ctx, params["payment_method"], customer["id"])
        self._emit(ctx, "customer.created", customer)
        return customer

    def _update_customer(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        customer = self._get(ctx.scope, object_id, "customer")
        previous = {}
        for name, given in params.items():
            value = given
            if name == "metadata":
                merged = {**customer["metadata"], **given}
                value = {k: v for k, v in merged.items() if v != ""}
            if name == "invoice_settings" and isinstance(given, dict):
                value = {**customer["invoice_settings"], **given}
            previous[name] = customer.get(name)
            customer[name] = value
        self._emit(ctx, "customer.updated", customer, previous)
        return customer

    def _delete_customer(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        customer = self._get(ctx.scope, object_id, "customer")
        customer["deleted"] = True
        self._emit(ctx, "customer.deleted", customer)
        return {"id": object_id, "object": "customer", "deleted": True}

    # ------------------------------------------------------------------ payment methods

    def _new_payment_method(
        self,
        ctx: _Ctx,
        number: str,
        *,
        exp_month: int | None = None,
        exp_year: int | None = None,
        billing_details: Any = None,
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        card = _card_for_number(number)
        if card is None:
            raise _StripeFault(
                402,
                "card_error",
                "Your card number is incorrect.",
                code="incorrect_number",
                param="card[number]",
            )
        this_year = time.gmtime(self.clock()).tm_year
        fingerprint = hmac.new(ctx.scope.encode(), number.encode(), hashlib.sha256).hexdigest()[:16]
        details = {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
        }
        if isinstance(billing_details, dict):
            details.update({k: v for k, v in billing_details.items() if k != "address"})
        pm = self._store(
            ctx.scope,
            {
                "id": self._new_id("pm"),
                "object": "payment_method",
                "allow_redisplay": "unspecified",
                "billing_details": details,
                "card": {
                    "brand": card.brand,
                    "checks": {
                        "address_line1_check": None,
                        "address_postal_code_check": None,
                        "cvc_check": "pass",
                    },
                    "country": card.country,
                    "display_brand": card.brand,
                    "exp_month": exp_month or 12,
                    "exp_year": exp_year or this_year + 3,
                    "fingerprint": fingerprint,
                    "funding": card.funding,
                    "generated_from": None,
                    "last4": number[-4:],
                    "networks": {"available": [card.brand], "preferred": None},
                    "regulated_status": "unregulated",
                    "three_d_secure_usage": {"supported": True},
                    "wallet": None,
                },
                "created": self._now(),
                "customer": None,
                "livemode": False,
                "metadata": dict(metadata or {}),
                "type": "card",
            },
        )
        self._private[pm["id"]] = {"card": card, "off_session_ready": False, "spent": False}
        return pm

    def _resolve_payment_method(
        self, ctx: _Ctx, pm_id: str, *, param: str = "payment_method"
    ) -> dict[str, Any]:
        """An existing pm_ in this scope, or a fresh object for a test alias (pm_card_visa)."""
        if pm_id in PM_ALIASES:
            return self._new_payment_method(ctx, PM_ALIASES[pm_id])
        return self._get(ctx.scope, pm_id, "payment_method", param=param)

    def _create_payment_method(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("type") != "card":
            raise _invalid("Only type=card is supported by FakeStripe.", param="type")
        card = params.get("card") or {}
        if "number" not in card:
            raise _invalid(
                "Missing required param: card[number].", code="parameter_missing", param="card[number]"
            )
        exp_month, exp_year = card.get("exp_month"), card.get("exp_year")
        if exp_month is not None and not 1 <= exp_month <= 12:
            raise _StripeFault(
                402,
                "card_error",
                "Your card's expiration month is invalid.",
                code="invalid_expiry_month",
                param="card[exp_month]",
            )
        if exp_year is not None and exp_year < 100:
            exp_year += 2000
        if exp_year is not None and exp_year < time.gmtime(self.clock()).tm_year:
            raise _StripeFault(
                402,
                "card_error",
                "Your card's expiration year is invalid.",
                code="invalid_expiry_year",
                param="card[exp_year]",
            )
        return self._new_payment_method(
            ctx,
            card["number"].replace(" ", ""),
            exp_month=exp_month,
            exp_year=exp_year,
            billing_details=params.get("billing_details"),
            metadata=params.get("metadata"),
        )

    def _retrieve_payment_method(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        # Retrieving a test alias returns (and stores) a new object, as Stripe does.
        return self._resolve_payment_method(ctx, object_id, param="payment_method")

    def _update_payment_method(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        pm = self._get(ctx.scope, object_id, "payment_method")
        if "metadata" in params:
            merged = {**pm["metadata"], **params["metadata"]}
            pm["metadata"] = {k: v for k, v in merged.items() if v != ""}
        if isinstance(params.get("billing_details"), dict):
            pm["billing_details"].update(params["billing_details"])
        self._emit(ctx, "payment_method.updated", pm)
        return pm

    def _list(self, items: list[dict[str, Any]], url: str, params: Mapping[str, Any]) -> dict[str, Any]:
        items = sorted(items, key=lambda o: o["created"], reverse=True)
        if params.get("starting_after"):
            ids = [o["id"] for o in items]
            if params["starting_after"] in ids:
                items = items[ids.index(params["starting_after"]) + 1 :]
        limit = params.get("limit") or 10
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}

    def _list_payment_methods(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        if customer:
            self._get(ctx.scope, customer, "customer", param="customer")
        items = [
            o
            for o in self._objects.get(ctx.scope, {}).values()
            if o.get("object") == "payment_method"
            and o["customer"] == customer
            and (params.get("type") in (None, o["type"]))
        ]
        return self._list(items, "/v1/payment_methods", params)

    def _list_customer_payment_methods(
        self, ctx: _Ctx, params: dict[str, Any], object_id: str
    ) -> dict[str, Any]:
        return self._list_payment_methods(ctx, {**params, "customer": object_id})

    def _attach(self, ctx: _Ctx, pm_id: str, customer_id: str) -> dict[str, Any]:
        self._get(ctx.scope, customer_id, "customer", param="customer")
        pm = self._resolve_payment_method(ctx, pm_id)
        private = self._private[pm["id"]]
        if pm["customer"] == customer_id:
            return pm
        if pm["customer"] is not None:
            raise _invalid(
                "The payment method you provided has already been attached to a customer.",
                param="payment_method",
            )
        if private["spent"]:
            raise _invalid(
                "This PaymentMethod was previously used without being attached to a Customer "
                "or was detached from a Customer, and may not be used again.",
                param="payment_method",
            )
        card: TestCard = private["card"]
        if card.decline and card.declines_on_attach:
            code, decline_code, message = card.decline
            raise _StripeFault(
                402,
                "card_error",
                message,
                code=code,
                decline_code=decline_code,
                extra={"payment_method": self._render(pm)},
            )
        pm["customer"] = customer_id
        self._emit(ctx, "payment_method.attached", pm)
        return pm

    def _attach_payment_method(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        return self._attach(ctx, object_id, params["customer"])

    def _detach_payment_method(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        pm = self._get(ctx.scope, object_id, "payment_method")
        if pm["customer"] is None:
            raise _invalid(
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                param="payment_method",
            )
        previous = {"customer": pm["customer"]}
        pm["customer"] = None
        self._private[pm["id"]]["spent"] = True  # a detached PaymentMethod cannot be used again
        self._emit(ctx, "payment_method.detached", pm, previous)
        return pm

    # ------------------------------------------------------------------ setup intents

    def _check_payment_method_types(self, ctx: _Ctx, params: dict[str, Any]) -> list[str]:
        if "payment_method_types" in params and _version_at_least(ctx.version, _VERSION_PMT_REMOVED):
            raise _invalid(
                "The `payment_method_types` parameter is no longer supported on this API "
                "version. Use `allowed_payment_method_types` or dynamic payment methods.",
                code="payment_method_types_no_longer_supported",
                param="payment_method_types",
                saved=False,
            )
        exclusive = [
            p
            for p in ("payment_method_types", "allowed_payment_method_types", "automatic_payment_methods")
            if p in params
        ]
        if len(exclusive) > 1:
            raise _invalid(
                f"You may only specify one of these parameters: {', '.join(exclusive)}.",
                param=exclusive[1],
                saved=False,
            )
        types = params.get("payment_method_types") or params.get("allowed_payment_method_types") or ["card"]
        if "card" not in types:
            raise _invalid("FakeStripe only supports card payment methods.", param=exclusive[0])
        return ["card"]

    def _create_setup_intent(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        types = self._check_payment_method_types(ctx, params)
        if params.get("customer"):
            self._get(ctx.scope, params["customer"], "customer", param="customer")
        intent_id = self._new_id("seti")
        intent = self._store(
            ctx.scope,
            {
                "id": intent_id,
                "object": "setup_intent",
                "application": None,
                "automatic_payment_methods": None,
                "cancellation_reason": None,
                "client_secret": f"{intent_id}_secret_{self._new_id('s')[2:]}",
                "created": self._now(),
                "customer": params.get("customer"),
                "description": params.get("description"),
                "excluded_payment_method_types": None,
                "flow_directions": None,
                "last_setup_error": None,
                "latest_attempt": None,
                "livemode": False,
                "mandate": None,
                "metadata": params.get("metadata") or {},
                "next_action": None,
                "on_behalf_of": None,
                "payment_method": None,
                "payment_method_configuration_details": None,
                "payment_method_options": {
                    "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
                },
                "payment_method_types": types,
                "single_use_mandate": None,
                "status": "requires_payment_method",
                "usage": params.get("usage") or "off_session",
            },
        )
        self._emit(ctx, "setup_intent.created", intent)
        if params.get("payment_method"):
            pm = self._resolve_payment_method(ctx, params["payment_method"])
            intent["payment_method"] = pm["id"]
            intent["status"] = "requires_confirmation"
        if params.get("confirm"):
            return self._confirm_setup_intent(ctx, {}, intent_id)
        return intent

    def _confirm_setup_intent(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        intent = self._get(ctx.scope, object_id, "setup_intent")
        if ctx.publishable and params.get("client_secret") != intent["client_secret"]:
            raise _invalid(
                "The client_secret provided does not match this SetupIntent.", param="client_secret"
            )
        if intent["status"] in ("succeeded", "canceled"):
            raise _invalid(
                f"You cannot confirm this SetupIntent because it has a status of {intent['status']}.",
                code="setup_intent_unexpected_state",
            )
        pm_id = params.get("payment_method") or intent["payment_method"]
        if not pm_id:
            raise _invalid(
                "You cannot confirm this SetupIntent because it's missing a payment method. "
                "Update it with a payment method and then confirm it again.",
                code="setup_intent_unexpected_state",
            )
        pm = self._resolve_payment_method(ctx, pm_id)
        if intent["customer"] and pm["customer"] not in (None, intent["customer"]):
            raise _invalid(
                "The provided PaymentMethod is attached to another customer.", param="payment_method"
            )
        intent["payment_method"] = pm["id"]
        intent["last_setup_error"] = None
        card: TestCard = self._private[pm["id"]]["card"]
        if card.decline and card.declines_on_attach:
            code, decline_code, message = card.decline
            intent["status"] = "requires_payment_method"
            intent["payment_method"] = None
            intent["last_setup_error"] = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "payment_method": self._render(pm),
            }
            self._emit(ctx, "setup_intent.setup_failed", intent)
            raise _StripeFault(
                402,
                "card_error",
                message,
                code=code,
                decline_code=decline_code,
                extra={"setup_intent": self._render(intent), "payment_method": self._render(pm)},
            )
        if card.auth in ("on_setup", "always"):
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": "https://hooks.stripe.com/fake_3ds",
                    "source": self._new_id("src"),
                },
            }
            self._emit(ctx, "setup_intent.requires_action", intent)
            return intent
        self._private[pm["id"]]["off_session_ready"] = intent["usage"] == "off_session"
        self._setup_succeeded(ctx, intent, pm["id"])
        return intent

    def _setup_succeeded(self, ctx: _Ctx, intent: dict[str, Any], pm_id: str) -> None:
        if intent["customer"]:
            self._attach(ctx, pm_id, intent["customer"])
        intent["status"] = "succeeded"
        intent["next_action"] = None
        intent["latest_attempt"] = self._new_id("setatt")
        self._emit(ctx, "setup_intent.succeeded", intent)

    def _cancel_setup_intent(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        intent = self._get(ctx.scope, object_id, "setup_intent")
        if intent["status"] in ("succeeded", "canceled"):
            raise _invalid(
                f"You cannot cancel this SetupIntent because it has a status of {intent['status']}.",
                code="setup_intent_unexpected_state",
            )
        intent["status"] = "canceled"
        intent["cancellation_reason"] = params.get("cancellation_reason")
        intent["next_action"] = None
        self._emit(ctx, "setup_intent.canceled", intent)
        return intent

    # ------------------------------------------------------------------ payment intents

    def _account_can_charge(self, ctx: _Ctx) -> None:
        account = self._accounts.get(ctx.scope)
        if self.require_charges_enabled and account is not None and not account["charges_enabled"]:
            raise _invalid(
                "Your account cannot currently make charges: charges_enabled is false until "
                "the account completes onboarding.",
                code="account_invalid",
            )

    def _create_payment_intent(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        types = self._check_payment_method_types(ctx, params)
        amount, currency = params["amount"], params["currency"].lower()
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise _invalid(f"Invalid currency: {currency}.", param="currency", saved=False)
        minimum = _MINIMUM_AMOUNT.get(currency, 1)
        if amount < minimum:
            raise _invalid(
                f"Amount must be at least {minimum} {currency} (in the smallest currency unit).",
                code="amount_too_small",
                param="amount",
            )
        if amount > 99_999_999:
            raise _invalid("Amount must be no more than 99999999.", code="amount_too_large", param="amount")
        fee = params.get("application_fee_amount")
        if fee is not None:
            if ctx.scope == self.platform_account:
                raise _invalid(
                    "Can only apply an application_fee_amount when the PaymentIntent is attempting "
                    "a direct payment (using an OAuth key or Stripe-Account header) or "
                    "destination payment (using `transfer_data[destination]`).",
                    param="application_fee_amount",
                )
            if not 0 <= fee <= amount:
                raise _invalid(
                    "application_fee_amount must be between 0 and the amount.", param="application_fee_amount"
                )
        off_session = params.get("off_session")
        if off_session not in (None, False) and not params.get("confirm"):
            raise _invalid("off_session can only be used when confirm=true.", param="off_session")
        customer = params.get("customer")
        if customer:
            self._get(ctx.scope, customer, "customer", param="customer")
        pm: dict[str, Any] | None = None
        if params.get("payment_method"):
            pm = self._resolve_payment_method(ctx, params["payment_method"])
        intent_id = self._new_id("pi")
        intent = self._store(
            ctx.scope,
            {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_details": {"tip": {}},
                "amount_received": 0,
                "application": "ca_fake_platform" if ctx.scope != self.platform_account else None,
                "application_fee_amount": fee,
                "automatic_payment_methods": None,
                "canceled_at": None,
                "cancellation_reason": None,
                "capture_method": params.get("capture_method") or "automatic_async",
                "client_secret": f"{intent_id}_secret_{self._new_id('s')[2:]}",
                "confirmation_method": "automatic",
                "created": self._now(),
                "currency": currency,
                "customer": customer,
                "description": params.get("description"),
                "excluded_payment_method_types": None,
                "last_payment_error": None,
                "latest_charge": None,
                "livemode": False,
                "metadata": params.get("metadata") or {},
                "next_action": None,
                "on_behalf_of": None,
                "payment_method": pm["id"] if pm else None,
                "payment_method_configuration_details": None,
                "payment_method_options": {
                    "card": {
                        "installments": None,
                        "mandate_options": None,
                        "network": None,
                        "request_three_d_secure": "automatic",
                    }
                },
                "payment_method_types": types,
                "processing": None,
                "receipt_email": params.get("receipt_email"),
                "review": None,
                "setup_future_usage": params.get("setup_future_usage"),
                "shipping": None,
                "source": None,
                "statement_descriptor": params.get("statement_descriptor"),
                "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
                "status": "requires_confirmation" if pm else "requires_payment_method",
                "transfer_data": None,
                "transfer_group": None,
            },
        )
        self._emit(ctx, "payment_intent.created", intent)
        if params.get("confirm"):
            return self._confirm(ctx, intent, off_session=off_session)
        return self._payment_intent_view(ctx, intent)

    def _confirm_payment_intent(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        intent = self._get(ctx.scope, object_id, "payment_intent")
        if ctx.publishable and params.get("client_secret") != intent["client_secret"]:
            # Stripe.js confirms with the publishable key and the PaymentIntent's client secret.
            raise _invalid(
                "The client_secret provided does not match the client_secret associated with the "
                "PaymentIntent.",
                param="client_secret",
                saved=False,
            )
        if intent["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            raise _invalid(
                f"This PaymentIntent's status is {intent['status']}, so it cannot be confirmed.",
                code="payment_intent_unexpected_state",
            )
        if params.get("payment_method"):
            intent["payment_method"] = self._resolve_payment_method(ctx, params["payment_method"])["id"]
        if not intent["payment_method"]:
            raise _invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        return self._confirm(ctx, intent, off_session=params.get("off_session"))

    def _confirm(self, ctx: _Ctx, intent: dict[str, Any], *, off_session: Any) -> dict[str, Any]:
        if not intent["payment_method"]:
            raise _invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        self._account_can_charge(ctx)
        pm = self._get(ctx.scope, intent["payment_method"], "payment_method")
        private = self._private[pm["id"]]
        if private["spent"]:
            raise _invalid(
                "This PaymentMethod was previously used without being attached to a Customer "
                "or was detached from a Customer, and may not be used again.",
                param="payment_method",
            )
        if pm["customer"] is not None and pm["customer"] != intent["customer"]:
            raise _invalid(
                "The provided PaymentMethod belongs to a different Customer than the one on "
                "this PaymentIntent.",
                param="payment_method",
            )
        card: TestCard = private["card"]
        off = off_session not in (None, False)
        needs_auth = (
            card.auth == "always"
            or (card.auth == "on_setup" and not (off and private["off_session_ready"]))
            or (card.auth == "setup_for_off_session" and not off)
        )
        if needs_auth and off:
            # Off-session: the customer is not there to authenticate → 402 authentication_required,
            # the PaymentIntent back to requires_payment_method (Stripe: "Charging saved cards").
            message = "Your card was declined. This transaction requires authentication."
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "authentication_required",
                "decline_code": "authentication_required",
                "message": message,
                "doc_url": "https://stripe.com/docs/error-codes/authentication-required",
                "payment_method": self._render(pm),
            }
            self._after_use(pm, intent)
            self._emit(ctx, "payment_intent.payment_failed", intent)
            raise _StripeFault(
                402,
                "card_error",
                message,
                code="authentication_required",
                decline_code="authentication_required",
                extra={
                    "payment_intent": self._payment_intent_view(ctx, intent),
                    "payment_method": self._render(pm),
                },
            )
        if needs_auth:
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": "https://hooks.stripe.com/fake_3ds",
                    "source": self._new_id("src"),
                },
            }
            self._emit(ctx, "payment_intent.requires_action", intent)
            return self._payment_intent_view(ctx, intent)
        return self._attempt_charge(ctx, intent, authenticated=False)

    def _after_use(self, pm: dict[str, Any], intent: dict[str, Any]) -> None:
        if pm["customer"] is None and intent["setup_future_usage"] is None:
            self._private[pm["id"]]["spent"] = True  # used once without a customer

    def _attempt_charge(self, ctx: _Ctx, intent: dict[str, Any], *, authenticated: bool) -> dict[str, Any]:
        pm = self._get(ctx.scope, intent["payment_method"], "payment_method")
        card: TestCard = self._private[pm["id"]]["card"]
        charge_id = self._new_id("ch")
        failed = card.decline is not None
        code, decline_code, message = card.decline or (None, None, None)
        charge = self._store(
            ctx.scope,
            {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": 0 if failed else intent["amount"],
                "amount_refunded": 0,
                "application": intent["application"],
                "application_fee": None
                if failed or intent["application_fee_amount"] is None
                else self._new_id("fee"),
                "application_fee_amount": intent["application_fee_amount"],
                "balance_transaction": None if failed else self._new_id("txn"),
                "billing_details": copy.deepcopy(pm["billing_details"]),
                "captured": not failed,
                "created": self._now(),
                "currency": intent["currency"],
                "customer": intent["customer"],
                "description": intent["description"],
                "disputed": False,
                "failure_code": code,
                "failure_message": message,
                "livemode": False,
                "metadata": dict(intent["metadata"]),
                "outcome": {
                    "network_status": "declined_by_network" if failed else "approved_by_network",
                    "reason": decline_code,
                    "risk_level": "normal",
                    "risk_score": 20,
                    "seller_message": "The bank did not return any further details with this decline."
                    if failed
                    else "Payment complete.",
                    "type": "issuer_declined" if failed else "authorized",
                },
                "paid": not failed,
                "payment_intent": intent["id"],
                "payment_method": pm["id"],
                "payment_method_details": {
                    "card": {
                        "brand": pm["card"]["brand"],
                        "country": pm["card"]["country"],
                        "exp_month": pm["card"]["exp_month"],
                        "exp_year": pm["card"]["exp_year"],
                        "fingerprint": pm["card"]["fingerprint"],
                        "funding": pm["card"]["funding"],
                        "last4": pm["card"]["last4"],
                        "network": pm["card"]["brand"],
                        "three_d_secure": {"result": "authenticated"} if authenticated else None,
                    },
                    "type": "card",
                },
                "receipt_email": intent["receipt_email"],
                "refunded": False,
                "status": "failed" if failed else "succeeded",
            },
        )
        intent["latest_charge"] = charge_id
        self._after_use(pm, intent)
        if failed:
            assert code is not None and message is not None
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error",
                "charge": charge_id,
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                "payment_method": self._render(pm),
            }
            self._emit(ctx, "charge.failed", charge)
            self._emit(ctx, "payment_intent.payment_failed", intent)
            raise _StripeFault(
                402,
                "card_error",
                message,
                code=code,
                decline_code=decline_code,
                extra={
                    "charge": charge_id,
                    "payment_intent": self._payment_intent_view(ctx, intent),
                    "payment_method": self._render(pm),
                },
            )
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        intent["last_payment_error"] = None
        self._emit(ctx, "charge.succeeded", charge)
        self._emit(ctx, "payment_intent.succeeded", self._payment_intent_view(ctx, intent))
        return self._payment_intent_view(ctx, intent)

    def _payment_intent_view(self, ctx: _Ctx, intent: dict[str, Any]) -> dict[str, Any]:
        """The PaymentIntent as this API version (and the shape knob) renders it."""
        view = copy.deepcopy(intent)
        legacy = self.payment_intent_shape == "legacy" or not _version_at_least(
            ctx.version, _VERSION_LATEST_CHARGE
        )
        if legacy:
            charges = []
            if intent["latest_charge"]:
                charges.append(copy.deepcopy(self._objects[ctx.scope][intent["latest_charge"]]))
            view.pop("latest_charge", None)
            view["charges"] = {
                "object": "list",
                "data": charges,
                "has_more": False,
                "total_count": len(charges),
                "url": f"/v1/charges?payment_intent={intent['id']}",
            }
        return view

    def _cancel_payment_intent(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        intent = self._get(ctx.scope, object_id, "payment_intent")
        if intent["status"] in ("succeeded", "canceled", "processing"):
            raise _invalid(
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        intent["status"] = "canceled"
        intent["canceled_at"] = self._now()
        intent["cancellation_reason"] = params.get("cancellation_reason")
        intent["next_action"] = None
        self._emit(ctx, "payment_intent.canceled", intent)
        return self._payment_intent_view(ctx, intent)

    # ------------------------------------------------------------------ refunds

    def _create_refund(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        if bool(params.get("payment_intent")) == bool(params.get("charge")):
            raise _invalid("You must pass either payment_intent or charge (but not both).", saved=False)
        if params.get("payment_intent"):
            intent = self._get(ctx.scope, params["payment_intent"], "payment_intent", param="payment_intent")
            if intent["status"] != "succeeded" or not intent["latest_charge"]:
                raise _invalid(
                    "This PaymentIntent does not have a successful charge to refund.", param="payment_intent"
                )
            charge = self._objects[ctx.scope][intent["latest_charge"]]
        else:
            charge = self._get(ctx.scope, params["charge"], "charge", param="charge")
            if charge["status"] != "succeeded":
                raise _invalid("Cannot refund a failed payment.", param="charge")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            raise _invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = params.get("amount", remaining)
        if amount <= 0:
            raise _invalid("Invalid positive integer", param="amount", saved=False)
        if amount > remaining:
            raise _invalid(
                f"Refund amount ({amount} {charge['currency']}) is greater than unrefunded amount on "
                f"charge ({remaining} {charge['currency']})",
                code="amount_too_large",
                param="amount",
            )
        refund = self._store(
            ctx.scope,
            {
                "id": self._new_id("re"),
                "object": "refund",
                "amount": amount,
                "balance_transaction": self._new_id("txn"),
                "charge": charge["id"],
                "created": self._now(),
                "currency": charge["currency"],
                "destination_details": {
                    "card": {
                        "reference_status": "pending",
                        "reference_type": "acquirer_reference_number",
                        "type": "refund",
                    },
                    "type": "card",
                },
                "metadata": params.get("metadata") or {},
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason"),
                "receipt_number": None,
                "source_transfer_reversal": None,
                "status": "succeeded",
                "transfer_reversal": None,
            },
        )
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit(ctx, "refund.created", refund)
        self._emit(ctx, "charge.refunded", charge, previous)
        return refund

    # ------------------------------------------------------------------ connected accounts

    def _new_account(
        self,
        *,
        country: str,
        email: str | None,
        metadata: dict[str, str],
        controller: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        account_id = self._new_id("acct")[:21]
        controller = controller or {}
        dashboard = (controller.get("stripe_dashboard") or {}).get("type", "full")
        account = {
            "id": account_id,
            "object": "account",
            "business_profile": {
                "mcc": None,
                "name": None,
                "product_description": None,
                "support_email": None,
                "support_phone": None,
                "support_url": None,
                "url": None,
            },
            "business_type": None,
            "capabilities": {"card_payments": "inactive", "transfers": "inactive"},
            "charges_enabled": False,
            "controller": {
                "fees": {"payer": (controller.get("fees") or {}).get("payer", "account")},
                "is_controller": True,
                "losses": {"payments": (controller.get("losses") or {}).get("payments", "stripe")},
                "requirement_collection": controller.get("requirement_collection", "stripe"),
                "stripe_dashboard": {"type": dashboard},
                "type": "application",
            },
            "country": country.upper(),
            "created": self._now(),
            "default_currency": {"US": "usd", "CA": "cad", "GB": "gbp", "AU": "aud"}.get(
                country.upper(), "usd"
            ),
            "details_submitted": False,
            "email": email,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/accounts/{account_id}/external_accounts",
            },
            "future_requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": [],
                "disabled_reason": None,
                "errors": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
            },
            "metadata": metadata,
            "payouts_enabled": False,
            "requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": [
                    "business_profile.url",
                    "external_account",
                    "tos_acceptance.date",
                    "tos_acceptance.ip",
                ],
                "disabled_reason": "requirements.past_due",
                "errors": [],
                "eventually_due": [
                    "business_profile.url",
                    "external_account",
                    "tos_acceptance.date",
                    "tos_acceptance.ip",
                ],
                "past_due": [],
                "pending_verification": [],
            },
            "settings": {
                "payments": {"statement_descriptor": None},
                "payouts": {
                    "debit_negative_balances": True,
                    "schedule": {"delay_days": 2, "interval": "daily"},
                    "statement_descriptor": None,
                },
            },
            "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
            "type": "standard"
            if dashboard == "full"
            else ("express" if dashboard == "express" else "custom"),
        }
        self._accounts[account_id] = account
        self._objects.setdefault(account_id, {})
        return account

    def _set_onboarded(self, account_id: str, *, emit: bool) -> None:
        account = self._accounts[account_id]
        previous = {
            "charges_enabled": account["charges_enabled"],
            "payouts_enabled": account["payouts_enabled"],
            "details_submitted": account["details_submitted"],
            "requirements": copy.deepcopy(account["requirements"]),
        }
        account.update(
            charges_enabled=True,
            payouts_enabled=True,
            details_submitted=True,
            capabilities={"card_payments": "active", "transfers": "active"},
        )
        account["requirements"].update(currently_due=[], eventually_due=[], disabled_reason=None)
        account["tos_acceptance"].update(date=self._now(), ip="203.0.113.10")
        if emit:
            self._emit(self._internal_ctx(account_id), "account.updated", account, previous)

    def _create_account(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        if ctx.scope != self.platform_account:
            raise _invalid("Connected accounts cannot create other accounts.", status=403)
        if "type" in params and "controller" in params:
            raise _invalid("You cannot specify both `type` and `controller`.", param="controller")
        return self._new_account(
            country=params.get("country") or "US",
            email=params.get("email"),
            metadata=params.get("metadata") or {},
            controller=params.get("controller"),
        )

    def _retrieve_account(self, ctx: _Ctx, params: dict[str, Any], object_id: str) -> dict[str, Any]:
        if object_id not in self._accounts or ctx.scope not in (self.platform_account, object_id):
            raise _missing("account", object_id)
        return self._accounts[object_id]

    def _retrieve_own_account(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        if ctx.scope == self.platform_account:
            return {
                "id": self.platform_account,
                "object": "account",
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
                "country": "US",
                "type": "standard",
            }
        return self._accounts[ctx.scope]

    def _create_account_link(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        account_id = params["account"]
        if account_id not in self._accounts:
            raise _missing("account", account_id, "account")
        if params["type"] == "account_onboarding" and not params.get("refresh_url"):
            raise _invalid(
                "Missing required param: refresh_url.",
                code="parameter_missing",
                param="refresh_url",
                saved=False,
            )
        now = self._now()
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"https://connect.stripe.com/setup/s/{account_id}/{self._new_id('x')[2:14]}",
        }


# ---------------------------------------------------------------------------------- schemas

_ADDRESS = {
    "city": "str",
    "country": "str",
    "line1": "str",
    "line2": "str",
    "postal_code": "str",
    "state": "str",
}

_CUSTOMER_SCHEMA: Schema = {
    "address": _ADDRESS,
    "description": "str",
    "email": "str",
    "invoice_settings": {
        "default_payment_method": "str",
        "custom_fields": "any",
        "footer": "str",
        "rendering_options": "any",
    },
    "metadata": "metadata",
    "name": "str",
    "payment_method": "str",
    "phone": "str",
    "preferred_locales": ("list", "str"),
    "shipping": "any",
    "tax_exempt": ("enum", ("none", "exempt", "reverse")),
}

_PAYMENT_METHOD_SCHEMA: Schema = {
    "type!": "str",
    "card": {"number": "str", "exp_month": "int", "exp_year": "int", "cvc": "str", "token": "str"},
    "billing_details": {"address": _ADDRESS, "email": "str", "name": "str", "phone": "str"},
    "metadata": "metadata",
    "allow_redisplay": ("enum", ("always", "limited", "unspecified")),
}

_ACCOUNT_SCHEMA: Schema = {
    "country": "str",
    "email": "str",
    "metadata": "metadata",
    "type": ("enum", ("custom", "express", "standard")),
    "controller": {
        "fees": {"payer": ("enum", ("account", "application"))},
        "losses": {"payments": ("enum", ("application", "stripe"))},
        "requirement_collection": ("enum", ("application", "stripe")),
        "stripe_dashboard": {"type": ("enum", ("express", "full", "none"))},
    },
    "capabilities": "any",
    "business_type": ("enum", ("company", "government_entity", "individual", "non_profit")),
    "business_profile": "any",
    "company": "any",
    "individual": "any",
    "default_currency": "str",
    "settings": "any",
    "tos_acceptance": "any",
    "external_account": "any",
}


def _payment_method_types_params(version: str) -> Schema:
    schema: Schema = {
        "payment_method_types": ("list", "str"),
        "automatic_payment_methods": {"enabled": "bool", "allow_redirects": ("enum", ("always", "never"))},
        "excluded_payment_method_types": ("list", "str"),
    }
    if _version_at_least(version, _VERSION_ALLOWED_PMT_ADDED):
        schema["allowed_payment_method_types"] = ("list", "str")
    return schema


def _setup_intent_schema(version: str) -> Schema:
    return {
        "customer": "str",
        "description": "str",
        "metadata": "metadata",
        "payment_method": "str",
        "usage": ("enum", ("off_session", "on_session")),
        "confirm": "bool",
        "return_url": "str",
        "payment_method_options": "any",
        "on_behalf_of": "str",
        "single_use": "any",
        "mandate_data": "any",
        "flow_directions": ("list", "str"),
        "use_stripe_sdk": "bool",
        **_payment_method_types_params(version),
    }


def _payment_intent_schema(version: str) -> Schema:
    return {
        "amount!": "int",
        "currency!": "str",
        "customer": "str",
        "payment_method": "str",
        "confirm": "bool",
        "off_session": ("bool_or_enum", ("one_off", "recurring")),
        "description": "str",
        "metadata": "metadata",
        "application_fee_amount": "int",
        "capture_method": ("enum", ("automatic", "automatic_async", "manual")),
        "receipt_email": "str",
        "statement_descriptor": "str",
        "statement_descriptor_suffix": "str",
        "setup_future_usage": ("enum", ("off_session", "on_session")),
        "return_url": "str",
        "error_on_requires_action": "bool",
        "payment_method_options": "any",
        "on_behalf_of": "str",
        "transfer_group": "str",
        "use_stripe_sdk": "bool",
        "mandate_data": "any",
        **_payment_method_types_params(version),
    }


# ---------------------------------------------------------------------------------- the SDK plug


class FakeStripeHTTPClient(stripe.HTTPClient):
    """``stripe.HTTPClient`` answering from a FakeStripe: no sockets. The SDK's own
    ``request_with_retries`` drives it, so retries, back-off decisions and error parsing are the
    SDK's real ones; only the sleep between retries is skipped (and recorded)."""

    name = "fake_stripe"

    def __init__(self, fake: FakeStripe, *, fast_retries: bool = True) -> None:
        super().__init__()
        self.fake = fake
        self.fast_retries = fast_retries

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        return self.fake.handle(method, url, headers, post_data)

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        body, status, headers_out = self.fake.handle(method, url, headers, post_data)
        return io.BytesIO(body.encode()), status, headers_out

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        body, status, headers_out = self.fake.handle(method, url, headers, post_data)
        return body.encode(), status, headers_out

    def sleep_async(self, secs: float) -> Any:
        async def _sleep() -> None:
            return None

        return _sleep()

    def close(self) -> None:
        return None

    async def close_async(self) -> None:
        return None

    def _sleep_time_seconds(self, num_retries: int) -> float:
        wanted: float = super()._sleep_time_seconds(num_retries)
        self.fake.retry_sleeps.append(wanted)
        return 0.0 if self.fast_retries else wanted
