"""Public routes: the card set-up page, the payment-authentication page and the booking pay page.
They authenticate with signed, expiring tokens in the path; errors are shown as pages (HTML) or
JSON (the XHR)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from therabill.api import errors, pages
from therabill.api.bodies import BoundedResolver
from therabill.api.deps import container
from therabill.api.inputs import Flag, Text
from therabill.core.errors import TherabillError

app = BoundedResolver(enable_validation=True)
errors.install(app)

Token = Annotated[str, Path(min_length=20, max_length=600, pattern=r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")]


class StartSetup(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    signer_name: Text = Field(min_length=2, max_length=120)
    agreed: Flag
    text_version: Text = Field(min_length=1, max_length=20)


class StartSetupOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    client_secret: str
    publishable_key: str
    stripe_account: str


def _html(body: str, status: int = 200) -> Response[str]:
    stripe_js = container().settings.stripe_js_url
    return Response(
        status_code=status,
        content_type=content_types.TEXT_HTML,
        body=body,
        headers={
            "Content-Security-Policy": pages.csp(stripe_js),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        },
    )


def _error_page(exc: TherabillError) -> Response[str]:
    for kind, status, _code in errors.STATUS:
        if isinstance(exc, kind):
            return _html(pages.message_page("This link cannot be used", exc.message), status)
    return _html(pages.message_page("Something went wrong", "Please try again later."), 500)


@app.get("/setup/<token>")
def setup_page(token: Token) -> Response[str]:
    c = container()
    try:
        view = c.cards.setup_page(token)
    except TherabillError as exc:
        return _error_page(exc)
    return _html(
        pages.setup_page(
            practice_name=view.practice_name,
            first_name=view.party_first_name,
            consent_text=view.consent_text,
            consent_version=view.consent_version,
            stripe_js_url=c.settings.stripe_js_url,
            intent_path=f"/setup/{token}/intent",
            publishable_key=view.publishable_key,
            account=view.stripe_account,
        )
    )


@app.post("/setup/<token>/intent")
def start_setup(token: Token, body: Annotated[StartSetup, Body()]) -> StartSetupOut:
    c = container()
    event = app.current_event
    secret, account = c.cards.start_setup(
        token,
        signer_name=body.signer_name,
        agreed=body.agreed,
        text_version=body.text_version,
        ip_address=event.request_context.identity.source_ip,
        user_agent=event.headers.get("user-agent"),
    )
    return StartSetupOut(
        client_secret=secret, publishable_key=c.secrets.stripe_publishable_key, stripe_account=account
    )


@app.get("/pay/authenticate/<token>")
def authenticate_page(token: Token) -> Response[str]:
    c = container()
    try:
        practice, payment, secret, pm = c.payments.open_auth_link(token)
    except TherabillError as exc:
        return _error_page(exc)
    assert practice.stripe is not None
    return _html(
        pages.authenticate_page(
            practice_name=practice.name,
            amount_text=payment.amount.format(),
            client_secret=secret,
            payment_method_id=pm,
            publishable_key=c.secrets.stripe_publishable_key,
            account=practice.stripe.account_id,
            stripe_js_url=c.settings.stripe_js_url,
        )
    )


# The invoice pay page (its own router).
from therabill.api.public_invoices import router as invoices_router  # noqa: E402

app.include_router(invoices_router)


class BookingPayStatus(BaseModel):
    model_config = ConfigDict(defer_build=True)
    status: str = Field(description="awaiting_payment, confirmed or released")


@app.get("/pay/booking/<token>")
def booking_pay_page(token: Token) -> Response[str]:
    c = container()
    try:
        view = c.bookings.open_pay_link(token)
    except TherabillError as exc:
        return _error_page(exc)
    assert view.practice.stripe is not None
    record = view.session.booking_payment
    assert record is not None
    return _html(
        pages.booking_pay_page(
            practice_name=view.practice.name,
            amount_text=view.payment.amount.format(),
            what="a deposit" if record.kind == "deposit" else "the session fee",
            when=view.when,
            expires=view.expires,
            client_secret=view.client_secret,
            publishable_key=c.secrets.stripe_publishable_key,
            account=view.practice.stripe.account_id,
            stripe_js_url=c.settings.stripe_js_url,
            status_path=f"/pay/booking/{token}/status",
        )
    )


@app.get("/pay/booking/<token>/status")
def booking_pay_status(token: Token) -> BookingPayStatus:
    return BookingPayStatus(status=container().bookings.pay_status(token))
