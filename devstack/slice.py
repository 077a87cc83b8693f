"""The Therabill slice driven over HTTP, the way staff, a client's browser and Stripe.js drive it.

Shared by ``python -m devstack.demo`` (which prints each step) and the end-to-end tests (which
assert on what each step returns). Everything goes through the local system's public surface:
the gateway (staff API with a bearer token, public pages, ``/_local/`` helpers) and localstripe
(only where Stripe.js would talk to Stripe: confirming a SetupIntent with the publishable key).

Every step raises :class:`SliceError` with the reason (HTTP status and body) when the system does
not answer as expected, so a caller can stop at the first failure.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import unescape
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

# Stripe's test cards (docs.stripe.com/testing), as the extended localstripe treats them.
CARD_VISA = "4242424242424242"
CARD_DECLINE_ON_CHARGE = "4000000000000341"  # saves fine, every charge is declined
CARD_AUTH_ALWAYS = "4000002760003184"  # 3-D Secure on set-up and on every off-session charge

DEFAULT_USER_AGENT = "therabill-demo/1.0 (python-requests)"
ALL_KINDS = ["copay", "session_fee", "cancellation_fee", "balance"]
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # therabill.core.ids (Crockford base32)

T = TypeVar("T")


class SliceError(RuntimeError):
    """A step of the slice did not get the answer it needs (the message says why)."""


def new_practice_id() -> str:
    """A fresh practice id of the runtime's shape: ``prc_`` + 26 base32 characters, time-sortable."""
    try:
        from therabill.core.ids import new_id
    except ImportError:  # the runtime package is not importable: same format, built here
        millis = int(time.time() * 1000)
        head = "".join(_ID_ALPHABET[(millis >> (5 * i)) & 31] for i in reversed(range(10)))
        return "prc_" + head + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
    return new_id("prc")


def poll(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Call ``check`` until it returns something other than None (or raise after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise SliceError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class SetupPage:
    """The public card set-up page as a browser received it."""

    url: str
    status: int
    html: str
    headers: dict[str, str]
    consent_version: str
    stripe_js_url: str

    @property
    def intent_url(self) -> str:
        return self.url.rstrip("/") + "/intent"

    @property
    def localstripe_url(self) -> str:
        """Where Stripe.js talks to: the origin of the page's Stripe.js script (as localstripe-v3.js
        derives it from its own ``src``)."""
        if self.stripe_js_url.endswith("/js.stripe.com/v3/"):
            return self.stripe_js_url[: -len("/js.stripe.com/v3/")]
        parts = urlsplit(self.stripe_js_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def csp(self) -> str:
        return self.headers.get("Content-Security-Policy", "")


@dataclass
class SavedCard:
    card: dict[str, Any]
    page: SetupPage
    intent: dict[str, Any]  # POST /setup/{token}/intent: client_secret, publishable_key, stripe_account
    setup_intent: dict[str, Any]  # localstripe's SetupIntent after Stripe.js confirmed it
    authenticated: bool  # the SetupIntent asked for 3-D Secure and it was completed


@dataclass
class Slice:
    """One staff user of one practice, with the helpers a browser and Stripe.js would be."""

    gateway_url: str
    token: str | None = None
    practice_id: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 10.0
    wait: float = 15.0
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.gateway_url = self.gateway_url.rstrip("/")
        self.http.headers["User-Agent"] = self.user_agent

    # ------------------------------------------------------------------ HTTP
    def request(
        self, method: str, url: str, *, expect: Iterable[int] = (200,), what: str = "", **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.http.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise SliceError(f"{what or method + ' ' + url}: {exc}") from exc
        if response.status_code not in tuple(expect):
            raise SliceError(
                f"{what or method + ' ' + url}: HTTP {response.status_code} "
                f"(expected {'/'.join(map(str, expect))}): {_short(_body(response))}"
            )
        return response

    def staff(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: Iterable[int] = (200,),
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """A staff API call with this practice's token (or ``token``); returns the JSON body."""
        bearer = token or self.token
        if not bearer:
            raise SliceError("no staff token: call new_practice() (or pass token=) first")
        response = self.request(
            method,
            self.gateway_url + path,
            expect=expect,
            what=f"{method} {path}",
            json=body,
            headers={"Authorization": f"Bearer {bearer}", **(headers or {})},
        )
        return _body(response) if response.content else None

    def staff_status(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        """A staff API call that accepts any status: ``(status, body)``."""
        token = kwargs.pop("token", None) or self.token
        response = self.request(
            method,
            self.gateway_url + path,
            expect=range(100, 600),
            json=body,
            headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
            **kwargs,
        )
        return response.status_code, _body(response) if response.content else None

    # ------------------------------------------------------------------ local helpers
    def health(self) -> dict[str, Any]:
        response = self.request(
            "GET", f"{self.gateway_url}/_local/health", what="the gateway (is `make run` running?)"
        )
        return dict(response.json())

    def mint_token(self, practice_id: str, role: str = "owner", email: str | None = None) -> str:
        """A staff token from the local stand-in for Cognito (``POST /_local/token``)."""
        body = {"practice_id": practice_id, "role": role}
        if email:
            body["email"] = email
        response = self.request(
            "POST", f"{self.gateway_url}/_local/token", json=body, what="POST /_local/token"
        )
        return str(response.json()["token"])

    def emails(self, to: str) -> list[dict[str, Any]]:
        return list(
            self.request(
                "GET", f"{self.gateway_url}/_local/emails", params={"to": to}, what="GET /_local/emails"
            ).json()
        )

    def wait_for_email(self, to: str, subject_prefix: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.emails(to) if m["subject"].startswith(subject_prefix)), None)

        return poll(found, timeout=self.wait, what=f"an email to {to} starting {subject_prefix!r}")

    # ------------------------------------------------------------------ practice
    def new_practice(self, name: str, email: str, time_zone: str = "America/New_York") -> dict[str, Any]:
        """A practice of its own for this run: a fresh id, a token for it, ``POST /practice``."""
        self.practice_id = new_practice_id()
        self.token = self.mint_token(self.practice_id, "owner", email)
        practice = self.staff(
            "POST", "/practice", {"name": name, "email": email, "time_zone": time_zone}, expect=(201,)
        )
        if practice.get("id") != self.practice_id:
            raise SliceError(f"POST /practice created {practice.get('id')}, not {self.practice_id}")
        return dict(practice)

    def connect_stripe(self) -> str:
        """``POST /practice/stripe/connect`` → the onboarding URL."""
        out = self.staff(
            "POST",
            "/practice/stripe/connect",
            {
                "refresh_url": f"{self.gateway_url}/_local/health?onboarding=refresh",
                "return_url": f"{self.gateway_url}/_local/health?onboarding=done",
            },
        )
        return str(out["onboarding_url"])

    def complete_onboarding(self, onboarding_url: str) -> int:
        """Visit the onboarding link (localstripe's page completes the account and sends a signed
        ``account.updated``); returns the page's status (302 to the return URL)."""
        return self.request(
            "GET", onboarding_url, expect=(200, 302, 303), allow_redirects=False, what="the onboarding page"
        ).status_code

    def wait_for_charges_enabled(self) -> dict[str, Any]:
        def enabled() -> dict[str, Any] | None:
            practice: dict[str, Any] = self.staff("GET", "/practice")
            stripe = practice.get("stripe") or {}
            return practice if stripe.get("charges_enabled") is True else None

        return poll(enabled, timeout=self.wait, what="stripe.charges_enabled (account.updated webhook)")

    def connect_and_onboard(self) -> dict[str, Any]:
        self.complete_onboarding(self.connect_stripe())
        return self.wait_for_charges_enabled()

    # ------------------------------------------------------------------ clients and cards
    def create_client(self, first_name: str, last_name: str, email: str) -> dict[str, Any]:
        body = {"first_name": first_name, "last_name": last_name, "email": email}
        return dict(self.staff("POST", "/clients", body, expect=(201,)))

    def create_setup_link(
        self, client_id: str, *, kinds: list[str] | None = None, max_amount: int | None = 50_000
    ) -> str:
        scope: dict[str, Any] = {"kinds": kinds or ALL_KINDS}
        if max_amount:
            scope["max_amount"] = max_amount
        link = self.staff("POST", f"/clients/{client_id}/setup-links", {"scope": scope}, expect=(201,))
        return str(link["url"])

    def open_setup_page(self, url: str) -> SetupPage:
        """GET the public page as a browser would; read the consent version and the Stripe.js URL."""
        response = self.request("GET", url, what="GET the set-up page")
        html = response.text
        version = re.search(r'"version":\s*"([^"]+)"', html)
        script = re.search(r'<script src="([^"]+)"></script>', html)
        if not version or not script:
            raise SliceError(f"the set-up page has no consent version or Stripe.js: {_short(html)}")
        return SetupPage(
            url=url,
            status=response.status_code,
            html=html,
            headers=dict(response.headers),
            consent_version=version.group(1),
            stripe_js_url=unescape(script.group(1)),
        )

    def start_setup(self, page: SetupPage, signer_name: str, *, agreed: bool = True) -> dict[str, Any]:
        """What the page's script sends when the form is submitted: signer, agreement, text version."""
        response = self.request(
            "POST",
            page.intent_url,
            json={"signer_name": signer_name, "agreed": agreed, "text_version": page.consent_version},
            what="POST /setup/{token}/intent",
        )
        return dict(response.json())

    def confirm_card_setup(
        self,
        page: SetupPage,
        intent: dict[str, Any],
        number: str,
        *,
        name: str,
        exp_month: str = "12",
        exp_year: str = "34",
        cvc: str = "123",
        postal_code: str = "10001",
        complete_authentication: bool = True,
    ) -> tuple[dict[str, Any], bool]:
        """``stripe.confirmCardSetup`` as localstripe's Stripe.js does it: the card element's values
        as ``payment_method_data`` in a JSON body with the publishable key and the client secret
        (no secret key, no Stripe-Account header). If the card asks for 3-D Secure, the modal's
        "Complete authentication" is a second confirm. Returns (SetupIntent, authenticated)."""
        secret = str(intent["client_secret"])
        match = re.match(r"^(seti_\w+?)_secret_", secret)
        if not match:
            raise SliceError(f"not a SetupIntent client secret: {secret!r}")
        url = f"{page.localstripe_url}/v1/setup_intents/{match.group(1)}/confirm"
        base = {"key": intent["publishable_key"], "use_stripe_sdk": True, "client_secret": secret}
        payment_method = {
            "type": "card",
            "card": {"number": number, "exp_month": exp_month, "exp_year": "20" + exp_year, "cvc": cvc},
            "billing_details": {"name": name, "address": {"postal_code": postal_code}},
        }
        headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": self.gateway_url}
        first = self.request(
            "POST",
            url,
            expect=range(100, 600),
            data=json.dumps({**base, "payment_method_data": payment_method}),
            headers=headers,
        )
        body = _body(first)
        if first.status_code != 200 or not isinstance(body, dict) or body.get("error"):
            raise SliceError(f"Stripe.js confirmCardSetup failed: HTTP {first.status_code} {_short(body)}")
        if body.get("status") == "succeeded":
            return body, False
        if body.get("status") != "requires_action":
            raise SliceError(f"setup_intent has status {body.get('status')}")
        action = "confirm" if complete_authentication else "cancel"
        second = self.request(
            "POST",
            url.rsplit("/", 1)[0] + "/" + action,
            expect=(200,),
            data=json.dumps(base),
            headers=headers,
            what=f"3-D Secure ({action})",
        ).json()
        if complete_authentication and second.get("status") != "succeeded":
            raise SliceError(f"setup_intent has status {second.get('status')} after authentication")
        return second, True

    def confirm_card_payment(
        self, localstripe_url: str, *, publishable_key: str, client_secret: str, number: str, name: str
    ) -> dict[str, Any]:
        """``stripe.confirmCardPayment(secret, {payment_method: {card}})`` as a pay page's script
        does it with the launcher's Stripe.js: the card element's values, the publishable key and
        the PaymentIntent's client secret (no secret key). Returns the PaymentIntent; it must have
        succeeded."""
        intent = client_secret.split("_secret_", maxsplit=1)[0]
        confirmed = self.request(
            "POST",
            f"{localstripe_url.rstrip('/')}/_local/payment_intents/{intent}/confirm_on_page",
            data=json.dumps(
                {
                    "key": publishable_key,
                    "client_secret": client_secret,
                    "payment_method_data": {
                        "type": "card",
                        "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
                        "billing_details": {"name": name},
                    },
                }
            ),
            headers={"Content-Type": "text/plain;charset=UTF-8"},
            what="Stripe.js confirmCardPayment",
        ).json()
        if confirmed.get("status") != "succeeded":
            raise SliceError(f"the PaymentIntent is {confirmed.get('status')}: {_short(confirmed)}")
        return dict(confirmed)

    def cards(self, client_id: str) -> list[dict[str, Any]]:
        return list(self.staff("GET", f"/clients/{client_id}/cards"))

    def wait_for_new_card(self, client_id: str, known: Iterable[str] = ()) -> dict[str, Any]:
        """The card ``setup_intent.succeeded`` stored (webhook → SQS → worker)."""
        seen = set(known)

        def new() -> dict[str, Any] | None:
            return next((c for c in self.cards(client_id) if c["id"] not in seen), None)

        return poll(new, timeout=self.wait, what="the saved card (setup_intent.succeeded)")

    def save_card(
        self,
        client_id: str,
        number: str,
        *,
        signer_name: str,
        kinds: list[str] | None = None,
        max_amount: int | None = 50_000,
    ) -> SavedCard:
        """The whole card set-up: link → page → intent → Stripe.js confirm → the card listed."""
        known = [c["id"] for c in self.cards(client_id)]
        page = self.open_setup_page(self.create_setup_link(client_id, kinds=kinds, max_amount=max_amount))
        intent = self.start_setup(page, signer_name)
        setup_intent, authenticated = self.confirm_card_setup(page, intent, number, name=signer_name)
        card = self.wait_for_new_card(client_id, known)
        return SavedCard(card, page, intent, setup_intent, authenticated)

    def consent_evidence(self, client_id: str, card_id: str) -> dict[str, Any]:
        return dict(self.staff("GET", f"/clients/{client_id}/cards/{card_id}/consent"))

    # ------------------------------------------------------------------ charges and the ledger
    def charge(
        self,
        client_id: str,
        amount: int,
        *,
        kind: str = "copay",
        key: str | None = None,
        card_id: str | None = None,
        memo: str = "",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"amount": amount, "kind": kind}
        if card_id:
            body["card_id"] = card_id
        if memo:
            body["memo"] = memo
        return dict(
            self.staff(
                "POST",
                f"/clients/{client_id}/charges",
                body,
                expect=(201, 202),
                headers={"Idempotency-Key": key or f"demo-{uuid.uuid4()}"},
            )
        )

    def ledger(self, client_id: str) -> dict[str, Any]:
        return dict(self.staff("GET", f"/clients/{client_id}/ledger"))

    def wait_for_ledger_entry(self, client_id: str, payment_id: str) -> dict[str, Any]:
        def posted() -> dict[str, Any] | None:
            ledger = self.ledger(client_id)
            entries = [e for e in ledger["entries"] if e.get("payment_id") == payment_id]
            return ledger if entries else None

        return poll(posted, timeout=self.wait, what=f"the ledger entry of {payment_id}")


def expect(condition: bool, reason: str) -> None:
    """A demo step got what it expected, else :class:`SliceError` with the reason."""
    if not condition:
        raise SliceError(reason)


def authentication_link(mail: dict[str, Any]) -> str:
    """The ``/pay/authenticate/{token}`` link in an authentication email's text."""
    text = mail.get("text") or mail.get("html") or ""
    match = re.search(r"https?://\S+/pay/authenticate/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", text)
    if not match:
        raise SliceError(f"no /pay/authenticate/ link in {mail.get('subject')!r}: {_short(text)}")
    return match.group(0)
