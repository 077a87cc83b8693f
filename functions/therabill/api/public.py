"""Public routes: the card set-up page, the payment-authentication page and the booking pay page.
They authenticate with signed, expiring tokens in the path; errors are shown as pages (HTML) or
JSON (the XHR)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from therabill.api import errors, page_errors, page_responses, pages
from therabill.api.bodies import BoundedResolver
from therabill.api.deps import container
from therabill.api.documents import answers, page_refusals, text_of
from therabill.api.inputs import Flag, Text
from therabill.core.clock import day_text, zone
from therabill.core.errors import TherabillError
from therabill.observability import logger
from therabill.practices.models import Practice

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


def _page(description: str) -> dict[int, OpenAPIResponse]:
    return {200: text_of("text/html", description), **page_refusals(400, 401, 404, 409, 503)}


def _error_page(
    exc: TherabillError, page: page_errors.PageKind, practice: Callable[[], Practice | None]
) -> Response[str]:
    """A link's page that cannot be shown: its state in words, naming the practice that signed the
    link (``practice()``: None for a link we did not sign)."""
    try:
        signer = practice()
    except TherabillError:  # the practice cannot be read just now: say what happened without it
        signer = None
    return page_responses.notice(page_errors.notice(exc, page=page, practice=signer))


# A browser's page (GET of a page route) answers its errors as HTML; everything else (the pages'
# fetch calls) keeps the JSON error body.
_PAGE_ROUTES: tuple[tuple[re.Pattern[str], page_errors.PageKind], ...] = (
    (re.compile(r"^/setup/[^/]*$"), "setup"),
    (re.compile(r"^/pay/authenticate/[^/]*$"), "authenticate"),
    (re.compile(r"^/pay/booking/[^/]*$"), "booking"),
    (re.compile(r"^/pay/invoice/[^/]*$"), "invoice"),
    (re.compile(r"^/store/[^/]*$"), "store"),
)


def _page_requested() -> page_errors.PageKind | None:
    event = app.current_event
    if event.http_method != "GET":
        return None
    return next((kind for pattern, kind in _PAGE_ROUTES if pattern.match(event.path)), None)


def _installed(kind: type[Exception]) -> Callable[[Any], Response[str]]:
    handler = app.exception_handler_manager.lookup_exception_handler(kind)
    assert handler is not None, kind  # errors.install registered it
    return cast(Callable[[Any], Response[str]], handler)


_json_validation = _installed(RequestValidationError)
_json_unexpected = _installed(Exception)


def _malformed(exc: RequestValidationError) -> Response[str]:
    page = _page_requested()
    if page is None:
        return _json_validation(exc)
    return page_responses.notice(page_errors.malformed(page))


def _unexpected(exc: Exception) -> Response[str]:
    if _page_requested() is None:
        return _json_unexpected(exc)
    logger.error("unexpected error", error=type(exc).__name__)  # the type only, never the message
    return page_responses.notice(page_errors.unexpected())


app.exception_handler(RequestValidationError)(_malformed)
app.exception_handler(Exception)(_unexpected)


@app.get("/setup/<token>", responses=_page("The card set-up page."))
def setup_page(token: Token) -> Response[str]:
    """The card set-up page of a set-up link: the consent text, the card form (Stripe.js)."""
    c = container()
    try:
        view = c.cards.setup_page(token)
    except TherabillError as exc:
        return _error_page(exc, "setup", lambda: c.cards.link_practice(token))
    return page_responses.html(
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


@app.post(
    "/setup/<token>/intent", responses=answers({200: "Stripe.js confirms the card with this."}, 401, 409, 502)
)
def start_setup(token: Token, body: Annotated[StartSetup, Body()]) -> StartSetupOut:
    """The client agreed to the consent text: a SetupIntent for the card form."""
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


@app.get("/pay/authenticate/<token>", responses=_page("The authentication page."))
def authenticate_page(token: Token) -> Response[str]:
    """The page where a client confirms a payment their bank wants authenticated (3-D Secure)."""
    c = container()
    try:
        view = c.payments.open_auth_link(token)
    except TherabillError as exc:
        return _error_page(exc, "authenticate", lambda: c.payments.auth_link_practice(token))
    practice, payment = view.practice, view.payment
    assert practice.stripe is not None
    return page_responses.html(
        pages.authenticate_page(
            practice_name=practice.name,
            amount_text=payment.amount.format(),
            charge=pages.CHARGE_KINDS.get(payment.kind, "a payment"),
            date_text=day_text(payment.created_at.astimezone(zone(practice.time_zone)), long=True),
            card_text=pages.card_text(view.card.brand, view.card.last4),
            client_secret=view.client_secret,
            payment_method_id=view.card.payment_method_id,
            publishable_key=c.secrets.stripe_publishable_key,
            account=practice.stripe.account_id,
            stripe_js_url=c.settings.stripe_js_url,
        )
    )


# The invoice pay page (its own router).
from therabill.api.public_invoices import router as invoices_router  # noqa: E402

app.include_router(invoices_router)

# The store page of a purchase link (its own router).
from therabill.api.public_store import router as store_router  # noqa: E402

app.include_router(store_router)

# The sign-up form (its own router).
from therabill.api.public_signup import router as signup_router  # noqa: E402

app.include_router(signup_router)


class BookingPayStatus(BaseModel):
    model_config = ConfigDict(defer_build=True)
    status: str = Field(description="awaiting_payment, confirmed or released")


@app.get("/pay/booking/<token>", responses=_page("The booking pay page."))
def booking_pay_page(token: Token) -> Response[str]:
    """The page where a client pays a booking's deposit or prepayment."""
    c = container()
    try:
        view = c.bookings.open_pay_link(token)
    except TherabillError as exc:
        return _error_page(exc, "booking", lambda: c.bookings.pay_link_practice(token))
    assert view.practice.stripe is not None
    record = view.session.booking_payment
    assert record is not None
    return page_responses.html(
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


@app.get("/pay/booking/<token>/status", responses=answers({200: "The status."}, 401))
def booking_pay_status(token: Token) -> BookingPayStatus:
    """Whether the booking's payment arrived (the pay page polls this)."""
    return BookingPayStatus(status=container().bookings.pay_status(token))
