# localstripe is untyped; these wrappers keep its signatures.
# mypy: allow-untyped-defs, allow-untyped-calls, disable-error-code="misc,no-any-return"
"""Runs localstripe (the Stripe API emulator from PyPI) with what Therabill needs on top.

localstripe is GPL-licensed; this launcher imports it and extends its aiohttp ``app`` at run time
(new routes, middlewares and a few method wrappers); none of its code is copied here.

What it adds:

1. **Minimal Stripe Connect.** ``POST/GET /v1/accounts[/{id}]`` (ids ``acct_...``, created with
   ``charges_enabled``/``payouts_enabled``/``details_submitted`` false and requirements due) and
   ``POST /v1/account_links``, whose ``url`` points at a local onboarding page
   ``/_local/connect/onboard/{acct}?return_url=...``. Visiting that page completes the account and
   sends a signed ``account.updated`` event (``"account": "acct_..."``, ``previous_attributes``)
   through localstripe's own webhook delivery, then redirects to ``return_url`` (``&redirect=0``
   shows a page instead).
2. **The Stripe-Account header.** Objects created with ``Stripe-Account: acct_...`` remember the
   account, and events about them carry ``"account": "acct_..."`` as Connect events do. (Objects are
   not partitioned by account: any key can read any object. Stripe.js in localstripe never sends
   the header, so partitioning would break the card set-up page.)
3. **Parameters real Stripe accepts that localstripe rejects**, stored on the object:
   PaymentIntent ``allowed_payment_method_types`` (API 2026-07-29+, what the adapter sends),
   ``description``, ``statement_descriptor``, ``statement_descriptor_suffix``,
   ``application_fee_amount``, ``receipt_email``, ``setup_future_usage``, ``on_behalf_of``,
   ``transfer_data``, ``transfer_group``, ``automatic_payment_methods``, ``confirmation_method``,
   ``shipping`` (and ``error_on_requires_action``/``return_url``/``mandate_data``/``use_stripe_sdk``
   accepted); confirm with ``payment_method``/``off_session``/``return_url``; SetupIntent
   ``allowed_payment_method_types``, ``description``, ``on_behalf_of``,
   ``automatic_payment_methods``, ``payment_method_options``, ``flow_directions``,
   ``attach_to_self``, ``payment_method`` + ``confirm`` at creation (and
   ``return_url``/``mandate_data``/``single_use``/``use_stripe_sdk`` accepted). Real Stripe has no
   ``off_session`` on SetupIntents (``usage=off_session`` is the parameter), so neither does this.
4. **Behaviour closer to real Stripe where Therabill depends on it:** an off-session PaymentIntent
   on a card that needs authentication fails with a 402 ``authentication_required`` card error
   (localstripe would leave it ``requires_action``); Stripe's declining test cards (``...0002``,
   ``...9995`` insufficient funds, ``...9987``, ``...9979``, ``...0069``, ``...0127``, ``...0119``)
   decline charges, not only attachment, with Stripe's error and decline codes; 402 card errors
   carry ``type: card_error``, the ``decline_code`` and the ``payment_intent``; a SetupIntent that
   succeeds attaches its payment method to its customer and sends ``setup_intent.succeeded``
   (``setup_intent.setup_failed``, ``setup_intent.requires_action`` likewise).
5. **Paying on a page.** ``POST /v1/payment_intents/{id}/cancel`` as Stripe has it
   (``cancellation_reason``, ``payment_intent_unexpected_state`` for a PaymentIntent that
   succeeded or was canceled, a ``payment_intent.canceled`` event); the Stripe.js it serves
   confirms a new on-session PaymentIntent with a card element
   (``confirmCardPayment(secret, {payment_method: {card}})``) through
   ``/_local/payment_intents/{id}/confirm_on_page`` (publishable key + client secret), where
   localstripe's own script could only authenticate an intent that already had a card.
6. **Idempotency keys, in memory.** A POST repeated with the same ``Idempotency-Key`` (and the same
   account) replays the first response (``Idempotent-Replayed: true``); the same key with other
   parameters is a 400 ``idempotency_error``. Keys never expire while the process runs. Only the
   happy path of Stripe's idempotency: tests of its edge cases use a fake at the client boundary.

State is kept in memory (a fresh Stripe every start, like the moto server beside it) unless
``--data-file`` names a pickle to load and save, localstripe's own mechanism.

Run: ``python -m devstack.localstripe_server --port 8420``.
"""

from __future__ import annotations

import argparse
import contextvars
import hashlib
import html
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from localstripe import resources, server, webhooks
from localstripe.errors import UserError

log = logging.getLogger("devstack.localstripe")

_current_account: contextvars.ContextVar[str | None] = contextvars.ContextVar("stripe_account", default=None)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# ===================================================================== 1. Connect accounts
class Account(resources.StripeObject):
    """A connected account (the fields Therabill reads; others are stored as given)."""

    object = "account"
    _id_prefix = "acct_"

    def __init__(
        self,
        type=None,
        country=None,
        email=None,
        business_type=None,
        business_profile=None,
        capabilities=None,
        metadata=None,
        controller=None,
        default_currency=None,
        settings=None,
        company=None,
        individual=None,
        tos_acceptance=None,
        external_account=None,
        **kwargs,
    ):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        try:
            assert type is None or type in ("standard", "express", "custom")
            assert country is None or (isinstance(country, str) and len(country) == 2)
            assert email is None or isinstance(email, str)
            assert capabilities is None or isinstance(capabilities, dict)
            assert metadata is None or isinstance(metadata, dict)
        except AssertionError:
            raise UserError(400, "Bad request") from None

        super().__init__()

        self.type = type or ("standard" if controller is None else "custom")
        self.country = (country or "US").upper()
        self.email = email
        self.business_type = business_type
        self.business_profile = business_profile or {}
        self.capabilities = {name: "inactive" for name in (capabilities or {})}
        self.metadata = metadata or {}
        self.controller = controller or {"type": "application", "is_controller": True}
        self.default_currency = default_currency or ("usd" if self.country == "US" else "eur")
        self.settings = settings or {}
        self.company = company
        self.individual = individual
        self.tos_acceptance = tos_acceptance or {}
        self.external_accounts = {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/accounts/{self.id}/external_accounts",
        }
        self.charges_enabled = False
        self.payouts_enabled = False
        self.details_submitted = False
        self.requirements = {
            "currently_due": ["business_profile.url", "external_account", "tos_acceptance.date"],
            "eventually_due": ["business_profile.url", "external_account", "tos_acceptance.date"],
            "past_due": [],
            "pending_verification": [],
            "errors": [],
            "disabled_reason": "requirements.past_due",
            "current_deadline": None,
        }

    def _complete_onboarding(self) -> dict[str, Any]:
        """Mark onboarding done; returns the previous values of what changed ({} if nothing)."""
        previous: dict[str, Any] = {}
        for name in ("charges_enabled", "payouts_enabled", "details_submitted"):
            if getattr(self, name) is not True:
                previous[name] = getattr(self, name)
                setattr(self, name, True)
        if previous:
            previous["requirements"] = dict(self.requirements)
            self.requirements = {
                "currently_due": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
                "errors": [],
                "disabled_reason": None,
                "current_deadline": None,
            }
            previous["capabilities"] = dict(self.capabilities)
            self.capabilities = {name: "active" for name in self.capabilities} or {
                "card_payments": "active",
                "transfers": "active",
            }
        return previous


async def create_account_link(request: web.Request) -> web.StreamResponse:
    data = await server.get_post_data(request) or {}
    account = data.get("account")
    link_type = data.get("type")
    if not isinstance(account, str) or not account.startswith("acct_"):
        raise UserError(400, "Missing required param: account.", {"param": "account"})
    if link_type not in ("account_onboarding", "account_update"):
        raise UserError(400, "Invalid type: must be account_onboarding or account_update", {"param": "type"})
    Account._api_retrieve(account)  # 404 if unknown
    query = {k: data[k] for k in ("return_url", "refresh_url") if isinstance(data.get(k), str)}
    base = f"{request.scheme}://{request.host}"
    created = int(time.time())
    return server.json_response(
        {
            "object": "account_link",
            "created": created,
            "expires_at": created + 300,
            "url": f"{base}/_local/connect/onboard/{account}" + (f"?{urlencode(query)}" if query else ""),
        }
    )


async def onboarding_page(request: web.Request) -> web.StreamResponse:
    account_id = request.match_info["account"]
    try:
        account = Account._api_retrieve(account_id)
    except UserError:
        return web.Response(status=404, text=f"No such account: {html.escape(account_id)}")
    previous = account._complete_onboarding()
    if previous:
        webhooks.schedule_webhook(
            resources.Event("account.updated", account, account=account.id, previous_attributes=previous)
        )
        log.info("connected account %s onboarded", account.id)
    return_url = request.query.get("return_url")
    if return_url and request.query.get("redirect", "1") != "0":
        raise web.HTTPFound(return_url)
    link = (
        f'<p><a id="return" href="{html.escape(return_url)}">Return to Therabill</a></p>'
        if return_url
        else ""
    )
    return web.Response(
        content_type="text/html",
        text=(
            "<!doctype html><html><head><meta charset='utf-8'><title>Local Stripe onboarding</title>"
            "</head><body><h1>Local Stripe Connect onboarding</h1>"
            f"<p>Account <code>{html.escape(account.id)}</code> is now fully onboarded "
            "(charges and payouts enabled).</p>" + link + "</body></html>"
        ),
    )


# ===================================================================== 2. Stripe-Account header
_original_object_init = resources.StripeObject.__init__
_original_event_init = resources.Event.__init__


def _object_init(self, id=None):
    _original_object_init(self, id)
    self._account = _current_account.get()


def _event_init(self, type, data, account=None, previous_attributes=None):
    _original_event_init(self, type, data)
    connected = account or getattr(data, "_account", None) or _current_account.get()
    if connected:
        self.account = connected
    if previous_attributes is not None:
        self.data["previous_attributes"] = previous_attributes


# ===================================================================== 3. extra parameters
def _string(name: str, max_length: int | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or (max_length is not None and len(value) > max_length):
            raise UserError(400, f"Invalid {name}", {"param": name})
        return value

    return check


def _non_negative_int(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        number = resources.try_convert_to_int(value)
        if not isinstance(number, int) or number < 0:
            raise UserError(400, f"Invalid {name}", {"param": name})
        return number

    return check


def _one_of(name: str, *choices: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise UserError(400, f"Invalid {name}: must be one of {', '.join(choices)}", {"param": name})
        return value

    return check


def _mapping(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise UserError(400, f"Invalid {name}", {"param": name})
        return value

    return check


def _boolean(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        value = resources.try_convert_to_bool(value)
        if not isinstance(value, bool):
            raise UserError(400, f"Invalid {name}", {"param": name})
        return value

    return check


def _string_list(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UserError(400, f"Invalid {name}", {"param": name})
        return value

    return check


PAYMENT_INTENT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "allowed_payment_method_types": _string_list("allowed_payment_method_types"),
    "description": _string("description", 1000),
    "statement_descriptor": _string("statement_descriptor", 22),
    "statement_descriptor_suffix": _string("statement_descriptor_suffix", 22),
    "application_fee_amount": _non_negative_int("application_fee_amount"),
    "receipt_email": _string("receipt_email"),
    "setup_future_usage": _one_of("setup_future_usage", "on_session", "off_session"),
    "on_behalf_of": _string("on_behalf_of"),
    "transfer_data": _mapping("transfer_data"),
    "transfer_group": _string("transfer_group"),
    "automatic_payment_methods": _mapping("automatic_payment_methods"),
    "confirmation_method": _one_of("confirmation_method", "automatic", "manual"),
    "shipping": _mapping("shipping"),
}
PAYMENT_INTENT_ACCEPTED = (
    "error_on_requires_action",
    "return_url",
    "mandate_data",
    "use_stripe_sdk",
    "radar_options",
)
SETUP_INTENT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "allowed_payment_method_types": _string_list("allowed_payment_method_types"),
    "description": _string("description", 1000),
    "on_behalf_of": _string("on_behalf_of"),
    "automatic_payment_methods": _mapping("automatic_payment_methods"),
    "payment_method_options": _mapping("payment_method_options"),
    "flow_directions": lambda v: v,
    "attach_to_self": _boolean("attach_to_self"),
}
SETUP_INTENT_ACCEPTED = ("return_url", "mandate_data", "single_use", "use_stripe_sdk")


def _extend_init(cls: type, fields: dict[str, Callable[[Any], Any]], accepted: tuple[str, ...]) -> None:
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        values = {name: check(kwargs.pop(name)) for name, check in fields.items() if name in kwargs}
        for name in accepted:
            kwargs.pop(name, None)
        original(self, *args, **kwargs)
        for name in fields:
            setattr(self, name, values.get(name))

    cls.__init__ = __init__


# Stripe's test cards that decline, with the error code and decline code Stripe gives them
# (docs.stripe.com/testing#declined-payments). localstripe declines most of them only when they
# are attached; Stripe declines a charge on any of them.
CARD_DECLINES: dict[str, tuple[str, str, str]] = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000000341": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": ("card_declined", "stolen_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "4242424242424241": ("incorrect_number", "incorrect_number", "Your card number is incorrect."),
}

_original_charging_is_declined = resources.PaymentMethod._charging_is_declined
_original_set_auth_failure = resources.Charge._set_auth_failure


def _charging_is_declined(self):
    return _original_charging_is_declined(self) or getattr(self, "_card_number", None) in CARD_DECLINES


def _set_auth_failure(self):
    _original_set_auth_failure(self)
    try:
        number = getattr(resources.PaymentMethod._api_retrieve(self.payment_method), "_card_number", None)
    except UserError:
        number = None
    code, decline, message = CARD_DECLINES.get(
        number or "", ("card_declined", "generic_decline", "Your card was declined.")
    )
    self.failure_code, self.failure_message, self._decline_code = code, message, decline


def _card_error(error: UserError, *, payment_intent: Any = None, setup_intent: Any = None) -> UserError:
    body = error.body.setdefault("error", {})
    body["type"] = "card_error"
    decline = None
    if body.get("charge"):
        try:
            decline = getattr(resources.Charge._api_retrieve(body["charge"]), "_decline_code", None)
        except UserError:
            decline = None
    body.setdefault(
        "decline_code",
        decline or ("generic_decline" if body.get("code") == "card_declined" else body.get("code")),
    )
    if payment_intent is not None:
        body["payment_intent"] = payment_intent._export()
    if setup_intent is not None:
        body["setup_intent"] = setup_intent._export()
    return error


_original_pi_last_payment_error = resources.PaymentIntent.last_payment_error


def _pi_last_payment_error(self):
    if getattr(self, "_authentication_required", False):
        return {
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "type": "card_error",
            "message": "Your card was declined. This transaction requires authentication.",
        }
    error = _original_pi_last_payment_error.fget(self)
    if error and error.get("charge") and self.latest_charge is not None:
        error["type"] = "card_error"
        error["decline_code"] = getattr(self.latest_charge, "_decline_code", None)
    return error


def _require_authentication_off_session(obj: Any) -> None:
    """Real Stripe fails an off-session payment that needs authentication instead of asking."""
    if obj.status != "requires_action":
        return
    obj.next_action = None
    obj._authentication_required = True
    obj._failed_payment_method = obj.payment_method
    obj.payment_method = None  # status -> requires_payment_method
    webhooks.schedule_webhook(resources.Event("payment_intent.payment_failed", obj))
    raise UserError(
        402,
        "Your card was declined. This transaction requires authentication.",
        {
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "type": "card_error",
            "payment_intent": obj._export(),
        },
    )


def _declined_payment_intent(error: UserError) -> Any:
    charge_id = error.body.get("error", {}).get("charge")
    if not charge_id:
        return None
    try:
        charge = resources.Charge._api_retrieve(charge_id)
        return resources.PaymentIntent._api_retrieve(charge.payment_intent) if charge.payment_intent else None
    except UserError:
        return None


_original_pi_create = resources.PaymentIntent._api_create


def _pi_create(cls, /, confirm=None, off_session=None, **data):
    try:
        obj = _original_pi_create(confirm=confirm, off_session=off_session, **data)
    except UserError as error:
        if error.code == 402:
            raise _card_error(error, payment_intent=_declined_payment_intent(error)) from None
        raise
    if resources.try_convert_to_bool(off_session) is True:
        _require_authentication_off_session(obj)
    return obj


_original_pi_confirm = resources.PaymentIntent._api_confirm


def _pi_confirm(id, payment_method=None, off_session=None, **kwargs):
    for name in (
        *PAYMENT_INTENT_ACCEPTED,
        "payment_method_options",
        "setup_future_usage",
        "receipt_email",
        "shipping",
    ):
        kwargs.pop(name, None)
    if payment_method is not None:
        obj = resources.PaymentIntent._api_retrieve(id)
        resources.PaymentMethod._api_retrieve(payment_method)  # 404 if unknown
        if obj.status not in ("requires_payment_method", "requires_confirmation"):
            raise UserError(400, "This PaymentIntent cannot be confirmed in its current state.")
        obj.payment_method = payment_method
        obj.latest_charge = None
        obj._authentication_failed = False
        obj._authentication_required = False
    try:
        obj = _original_pi_confirm(id, **kwargs)
    except UserError as error:
        if error.code == 402:
            raise _card_error(error, payment_intent=_declined_payment_intent(error)) from None
        raise
    if resources.try_convert_to_bool(off_session) is True:
        _require_authentication_off_session(obj)
    return obj


_original_si_create = resources.SetupIntent._api_create


def _si_create(cls, /, confirm=None, payment_method=None, **data):
    obj = _original_si_create(**data)
    webhooks.schedule_webhook(resources.Event("setup_intent.created", obj))
    if payment_method is not None:
        if resources.try_convert_to_bool(confirm) is True:
            return _si_confirm(obj.id, payment_method=payment_method)
        resources.PaymentMethod._api_retrieve(payment_method)
        obj.payment_method = payment_method
        obj.status = "requires_confirmation"
    return obj


_original_si_confirm = resources.SetupIntent._api_confirm


def _si_confirm(id, **kwargs):
    for name in (*SETUP_INTENT_ACCEPTED, "payment_method_options"):
        kwargs.pop(name, None)
    try:
        obj = _original_si_confirm(id, **kwargs)
    except UserError as error:
        if error.code == 402:
            try:
                obj = resources.SetupIntent._api_retrieve(id)
            except UserError:
                raise error from None
            obj.last_setup_error = {
                "code": error.body["error"].get("code"),
                "type": "card_error",
                "message": error.body["error"].get("message"),
            }
            webhooks.schedule_webhook(resources.Event("setup_intent.setup_failed", obj))
            raise _card_error(error, setup_intent=obj) from None
        raise
    if obj.status == "succeeded":
        pm = resources.PaymentMethod._api_retrieve(obj.payment_method)
        if obj.customer and getattr(pm, "customer", None) is None:
            pm.customer = obj.customer
            webhooks.schedule_webhook(
                resources.Event("payment_method.attached", pm, account=getattr(obj, "_account", None))
            )
        webhooks.schedule_webhook(resources.Event("setup_intent.succeeded", obj))
    elif obj.status == "requires_action":
        webhooks.schedule_webhook(resources.Event("setup_intent.requires_action", obj))
    return obj


_original_pi_authenticate = resources.PaymentIntent._api_authenticate


def _pi_authenticate(id: str, client_secret: str | None = None, success: bool = False, **kwargs: Any) -> Any:
    """Bringing the customer back on-session. Stripe.js's confirmCardPayment re-confirms the
    failed off-session PaymentIntent with its card; localstripe's copy of Stripe.js instead calls
    this endpoint, which only accepts ``requires_action``. Put the intent back into that state
    (with the card that needed authentication) before localstripe authenticates it."""
    obj = resources.PaymentIntent._api_retrieve(id)
    failed = getattr(obj, "_failed_payment_method", None)
    if (
        obj.status == "requires_payment_method"
        and getattr(obj, "_authentication_required", False)
        and failed
        and client_secret == obj.client_secret
    ):
        obj.payment_method = failed
        obj._authentication_required = False
        obj.latest_charge = None
        obj.next_action = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
        }
    return _original_pi_authenticate(id, client_secret=client_secret, success=success, **kwargs)


_original_pi_cancel = resources.PaymentIntent._api_cancel
_CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


def _pi_cancel(id: str, cancellation_reason: str | None = None, **kwargs: Any) -> Any:
    """Stripe's cancel: takes ``cancellation_reason``, refuses a PaymentIntent that succeeded,
    is processing or is already canceled with ``payment_intent_unexpected_state``, and sends
    ``payment_intent.canceled`` (localstripe rejects the reason, answers a bare 400 and sends no
    event)."""
    if cancellation_reason is not None and cancellation_reason not in _CANCELLATION_REASONS:
        raise UserError(400, "Invalid cancellation_reason", {"param": "cancellation_reason"})
    obj = resources.PaymentIntent._api_retrieve(id)
    if obj.status in ("succeeded", "processing", "canceled"):
        raise UserError(
            400,
            f"You cannot cancel this PaymentIntent because it has a status of {obj.status}.",
            {"code": "payment_intent_unexpected_state"},
        )
    obj = _original_pi_cancel(id, **kwargs)
    obj.cancellation_reason = cancellation_reason
    obj.canceled_at = int(time.time())
    webhooks.schedule_webhook(resources.Event("payment_intent.canceled", obj))
    return obj


async def confirm_on_page(request: web.Request) -> web.StreamResponse:
    """What Stripe.js's ``confirmCardPayment(secret, {payment_method: {card: element}})`` does on a
    pay page: create the card PaymentMethod and confirm the PaymentIntent on-session, with the
    publishable key and the client secret. localstripe's Stripe.js can only authenticate a
    PaymentIntent that already has a card; the script served by this launcher calls this instead
    when it is given a card element."""
    data = await server.get_post_data(request, remove_auth=False) or {}
    key = data.get("key")
    if not isinstance(key, str) or not key.startswith("pk_"):
        raise UserError(401, "Unauthorized")
    obj = resources.PaymentIntent._api_retrieve(request.match_info["id"])
    if data.get("client_secret") != obj.client_secret:
        raise UserError(401, "Unauthorized")
    if obj.status != "requires_payment_method":
        raise UserError(
            400,
            f"This PaymentIntent's status is {obj.status}, so it cannot be confirmed.",
            {"code": "payment_intent_unexpected_state"},
        )
    pm_data = data.get("payment_method_data")
    if not isinstance(pm_data, dict) or pm_data.get("type") != "card":
        raise UserError(400, "Missing required param: payment_method_data.", {"param": "payment_method_data"})
    token = _current_account.set(getattr(obj, "_account", None))  # the card lives with the intent
    try:
        pm = resources.PaymentMethod(
            type="card", card=pm_data.get("card"), billing_details=pm_data.get("billing_details")
        )
        confirmed = _pi_confirm(obj.id, payment_method=pm.id)
    finally:
        _current_account.reset(token)
    return server.json_response(confirmed._export())


# Appended to localstripe's Stripe.js: confirmCardPayment with a card element (a new on-session
# PaymentIntent) goes to confirm_on_page; everything else is localstripe's own.
STRIPE_JS_EXTENSION = """
// Therabill launcher: confirmCardPayment with a card element confirms a new PaymentIntent.
(function () {
  const makeStripe = Stripe;
  Stripe = (apiKey, options) => {
    const stripe = makeStripe(apiKey, options);
    const authenticate = stripe.confirmCardPayment;
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const card = data && data.payment_method && data.payment_method.card;
      if (!(card instanceof Element)) return authenticate(clientSecret, data);
      try {
        const pi = clientSecret.match(/^(pi_\\w+)_secret_/)[1];
        const response = await fetch(
          `${LOCALSTRIPE_BASE_API}/_local/payment_intents/${pi}/confirm_on_page`, {
            method: 'POST',
            body: JSON.stringify({
              key: apiKey, client_secret: clientSecret,
              payment_method_data: {type: 'card', card: card.value.card,
                                    billing_details: data.payment_method.billing_details || {}},
            }),
          });
        const body = await response.json().catch(() => ({}));
        if (response.status !== 200 || body.error) {
          return {error: body.error || {message: 'The payment was not accepted.'}};
        }
        if (body.status === 'requires_action') return authenticate(clientSecret, {});
        return {paymentIntent: body};
      } catch (err) {
        return {error: (err && err.error) || {message: String(err)}};
      }
    };
    return stripe;
  };
})();
"""


async def stripe_js(request: web.Request) -> web.StreamResponse:
    path = Path(server.__file__).with_name("localstripe-v3.js")
    return web.Response(text=path.read_text() + STRIPE_JS_EXTENSION, content_type="application/javascript")


# extra_apis handlers were bound when localstripe imported; these replace their routes.
ROUTE_OVERRIDES: dict[tuple[str, str], Callable[..., Any]] = {
    ("POST", "/v1/payment_intents/{id}/cancel"): _pi_cancel,
    ("POST", "/v1/payment_intents/{id}/confirm"): _pi_confirm,
    ("POST", "/v1/setup_intents/{id}/confirm"): _si_confirm,
    ("POST", "/v1/payment_intents/{id}/_authenticate"): _pi_authenticate,
}


# ===================================================================== middlewares
_idempotency: dict[tuple[str | None, str], tuple[str, int, bytes, str]] = {}


@web.middleware
async def connect_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: the Stripe-Account header, idempotency replay, and the launcher's own pages."""
    account = request.headers.get("Stripe-Account") or None
    token = _current_account.set(account)
    try:
        if request.path.startswith("/_local/"):
            route_handler = request.match_info.handler
            return await route_handler(request)
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        body = await request.read()
        fingerprint = hashlib.sha256(request.path.encode() + b"\n" + body).hexdigest()
        cached = _idempotency.get((account, key))
        if cached is not None:
            if cached[0] != fingerprint:
                return server.json_response(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        }
                    },
                    status=400,
                )
            replay = web.Response(status=cached[1], body=cached[2], content_type=cached[3])
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = await handler(request)
        # Stripe saves the result once the endpoint ran (success or card error), not a rejection.
        saved = response.status < 400 or response.status == 402
        if isinstance(response, web.Response) and saved and isinstance(response.body, bytes):
            _idempotency[(account, key)] = (
                fingerprint,
                response.status,
                response.body,
                response.content_type,
            )
        return response
    except UserError as error:
        return error.to_response()
    finally:
        _current_account.reset(token)


@web.middleware
async def override_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Innermost: swap the handlers localstripe bound at import for the extended ones."""
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else None
    if request.method == "GET" and canonical == "/js.stripe.com/v3/":
        return await stripe_js(request)
    override = ROUTE_OVERRIDES.get((request.method, canonical or ""))
    if override is not None:
        return await server.api_extra(override, canonical)(request)
    return await handler(request)


# ===================================================================== wiring
_installed: set[int] = set()


def install(app: web.Application | None = None) -> web.Application:
    """Apply every extension to localstripe's app (once); returns the app."""
    app = app or server.app
    if _installed:
        return app
    resources.StripeObject.__init__ = _object_init
    resources.Event.__init__ = _event_init
    resources.PaymentIntent.last_payment_error = property(_pi_last_payment_error)
    resources.PaymentMethod._charging_is_declined = _charging_is_declined
    resources.Charge._set_auth_failure = _set_auth_failure
    resources.PaymentIntent._api_create = classmethod(_pi_create)
    resources.SetupIntent._api_create = classmethod(_si_create)
    _extend_init(resources.PaymentIntent, PAYMENT_INTENT_FIELDS, PAYMENT_INTENT_ACCEPTED)
    _extend_init(resources.SetupIntent, SETUP_INTENT_FIELDS, SETUP_INTENT_ACCEPTED)

    app.middlewares.insert(0, connect_middleware)
    app.middlewares.append(override_middleware)
    for method, url, handler in (
        ("POST", "/v1/accounts", server.api_create(Account, "/v1/accounts")),
        ("GET", "/v1/accounts/{id}", server.api_retrieve(Account, "/v1/accounts/{id}")),
        ("POST", "/v1/accounts/{id}", server.api_update(Account, "/v1/accounts/{id}")),
        ("DELETE", "/v1/accounts/{id}", server.api_delete(Account, "/v1/accounts/{id}")),
        ("GET", "/v1/accounts", server.api_list_all(Account, "/v1/accounts")),
    ):
        app.router.add_route(method, url, handler)
    app.router.add_post("/v1/account_links", create_account_link)
    app.router.add_get("/_local/connect/onboard/{account}", onboarding_page)
    app.router.add_post("/_local/payment_intents/{id}/confirm_on_page", confirm_on_page)
    app.router.add_get("/_local/health", _health)
    _installed.add(id(app))
    return app


async def _health(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok", "webhooks": sorted(webhooks._webhooks)})


def _configure_store(data_file: str | None) -> None:
    """In memory by default; with ``data_file``, localstripe's pickle persistence at that path."""
    store = resources.store
    if data_file is None:
        store.dump_to_disk = lambda: None
        return
    import pickle

    def dump() -> None:
        with open(data_file, "wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)

    def load() -> None:
        try:
            with open(data_file, "rb") as f:
                saved = pickle.load(f)  # noqa: S301 - our own local file
        except FileNotFoundError:
            return
        dict.update(store, saved)

    store.dump_to_disk = dump
    load()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--data-file", default=None, help="persist the emulator's state in this pickle (default: in memory)"
    )
    parser.add_argument("--webhook-url", default=None, help="register a webhook endpoint at start")
    parser.add_argument("--webhook-secret", default=None)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _configure_store(args.data_file)
    app = install()
    if args.webhook_url and args.webhook_secret:
        webhooks.register_webhook("therabill", args.webhook_url, args.webhook_secret, None)
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.INFO)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=access,
        print=lambda message: print(message, flush=True),
    )


if __name__ == "__main__":
    main()
