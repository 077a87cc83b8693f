"""Public routes of the invoice pay page (included by api/public.py, under the public ``/pay``
prefix). The page is HTML; its steps are JSON. Nothing about an invoice is answered before its
number and access code both match (the same 401 for an unknown number, a wrong code and a locked
invoice); the answer then carries a short-lived signed token for the pay step."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from therabill.api import errors, invoice_pages, page_errors, page_responses
from therabill.api.deps import container
from therabill.api.documents import answers, body_of, page_refusals, text_of
from therabill.api.inputs import PositiveMinorUnits
from therabill.api.outputs import Amount
from therabill.core.errors import NotFoundError, TherabillError
from therabill.invoices.access import TooManyAttemptsError, denied
from therabill.invoices.models import Invoice

router = APIGatewayRouter()  # type: ignore[no-untyped-call]

PracticeId = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[a-z]{2,5}_[0-9a-z]+$")]
_TOKEN = r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$"
_STATUS_LABEL = {
    "sending": "Open",
    "open": "Open",
    "paid": "Paid",
    "overdue": "Overdue",
    "void": "Void",
    "uncollectible": "Open",
    "draft": "Draft",
}


class Lookup(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    number: str = Field(min_length=5, max_length=20, pattern=r"^INV-[0-9]{6,12}$")
    access_code: str = Field(pattern=r"^[0-9]{6}$")


class TokenIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    token: str = Field(min_length=20, max_length=600, pattern=_TOKEN)


class PayIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    token: str = Field(min_length=20, max_length=600, pattern=_TOKEN)
    amount: PositiveMinorUnits = Field(description="minor units, at most the balance")
    card_id: str | None = Field(default=None, min_length=3, max_length=60, pattern=r"^[a-z]{2,5}_[0-9a-z]+$")
    request_id: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9\-]+$",
        description="one per attempt (a retry reuses it)",
    )


class PayStarted(BaseModel):
    model_config = ConfigDict(defer_build=True)
    payment_id: str
    status: str
    client_secret: str | None = None  # a new card: Stripe.js confirms it
    message: str | None = None


class LineView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    date: str
    description: str
    amount: Amount


class CardView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    brand: str
    last4: str


class InvoiceView(BaseModel):
    """What the billing party sees once the code matched (no clinical detail, no internal ids but the
    invoice's number)."""

    model_config = ConfigDict(defer_build=True)

    token: str
    number: str
    practice_name: str
    status: str
    status_label: str
    due_date: str
    currency: str
    decimals: int
    lines: list[LineView]
    total: Amount
    paid: Amount
    balance: Amount
    can_pay: bool
    cards: list[CardView]
    publishable_key: str
    stripe_account: str


def _json(status: int, body: BaseModel, extra: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers={**page_responses.security_headers(), **(extra or {})},
    )


def _too_many(exc: TooManyAttemptsError) -> Response[str]:
    body = errors.ErrorBody(code="too_many_attempts", message=exc.message)
    return _json(429, body, {"Retry-After": str(exc.details.get("retry_after", 900))})


def _source_ip() -> str:
    return str(router.current_event.request_context.identity.source_ip or "unknown")


def view_of(practice_id: str, invoice: Invoice, token: str) -> InvoiceView:
    c = container()
    practice = c.practices.get(practice_id)
    cards = []
    can_pay = invoice.status in ("sending", "open", "overdue", "uncollectible") and invoice.balance.amount > 0
    can_pay = can_pay and practice.stripe is not None and practice.stripe.charges_enabled
    if can_pay:
        cards = [
            CardView(id=card.id, brand=card.brand, last4=card.last4)
            for card in c.cards.active_cards_of(practice_id, invoice.client_id)
            if card.owner_id == invoice.owner_id
        ]
    return InvoiceView(
        token=token,
        number=invoice.number,
        practice_name=practice.name,
        status=invoice.status,
        status_label=_STATUS_LABEL[invoice.status],
        due_date=invoice.due_date.isoformat(),
        currency=invoice.currency,
        decimals=invoice.total.decimals,
        lines=[
            LineView(
                date=line.service_date.isoformat() if line.service_date else "",
                description=line.description,
                amount=line.amount.amount,
            )
            for line in invoice.lines
        ],
        total=invoice.total.amount,
        paid=invoice.paid.amount,
        balance=max(invoice.balance.amount, 0),
        can_pay=can_pay,
        cards=cards,
        publishable_key=c.secrets.stripe_publishable_key if can_pay else "",
        stripe_account=practice.stripe.account_id if can_pay and practice.stripe else "",
    )


@router.get(
    "/pay/invoice/<practice_id>",
    responses={200: text_of("text/html", "The invoice pay page."), **page_refusals(400, 404, 503)},
)
def invoice_pay_page(practice_id: PracticeId) -> Response[str]:
    """The invoice pay page: the form for an invoice number and its access code."""
    c = container()
    try:
        practice = c.practices.get(practice_id)
    except NotFoundError:
        return page_responses.notice(page_errors.no_pay_page())
    except TherabillError as exc:  # the practice cannot be read just now: a page, not JSON
        return page_responses.notice(page_errors.notice(exc, page="invoice", practice=None))
    return page_responses.html(
        invoice_pages.pay_page(
            practice_name=practice.name,
            base_path=f"/pay/invoice/{practice_id}",
            stripe_js_url=c.settings.stripe_js_url,
        )
    )


@router.post(
    "/pay/invoice/<practice_id>/lookup",
    responses=answers({200: body_of(InvoiceView, "The invoice, with a token for the next steps.")}, 401, 429),
)
def lookup_invoice(practice_id: PracticeId, body: Annotated[Lookup, Body()]) -> Response[str]:
    """Open an invoice with its number and access code (the same 401 for an unknown number, a wrong
    code and a locked invoice; too many wrong codes from one place: 429)."""
    c = container()
    try:
        invoice, token = c.invoice_access.open(practice_id, body.number, body.access_code, _source_ip())
    except TooManyAttemptsError as exc:
        return _too_many(exc)
    return _json(200, view_of(practice_id, invoice, token))


@router.post(
    "/pay/invoice/<practice_id>/view",
    responses=answers({200: body_of(InvoiceView, "The invoice as it now is.")}, 401),
)
def view_invoice(practice_id: PracticeId, body: Annotated[TokenIn, Body()]) -> Response[str]:
    """The invoice again, with the token the lookup gave."""
    c = container()
    token_practice, invoice_id = c.invoice_access.verify_token(body.token)
    if token_practice != practice_id:
        raise NotFoundError("invoice not found")
    invoice = c.invoices.get(practice_id, invoice_id)
    if invoice.locked:
        raise denied()
    return _json(200, view_of(practice_id, invoice, body.token))


def _invoice_of_token(practice_id: str, token: str) -> Invoice:
    c = container()
    token_practice, invoice_id = c.invoice_access.verify_token(token)
    if token_practice != practice_id:
        raise NotFoundError("invoice not found")
    invoice = c.invoices.get(practice_id, invoice_id)
    if invoice.locked:  # locked after the token was given: no more paying with it
        raise denied()
    return invoice


@router.post(
    "/pay/invoice/<practice_id>/pay",
    responses=answers({200: body_of(PayStarted, "The payment as it started.")}, 401, 409, 502),
)
def pay_invoice(practice_id: PracticeId, body: Annotated[PayIn, Body()]) -> Response[str]:
    """Pay all or part of the balance: a new card (answers a client secret for Stripe.js) or a
    saved card of the billing party's (charged now)."""
    c = container()
    invoice = _invoice_of_token(practice_id, body.token)
    payment, secret = c.invoices.start_page_payment(
        practice_id,
        invoice.id,
        request_id=body.request_id,
        amount=body.amount,
        card_id=body.card_id,
        payments=c.payments,
    )
    message = None
    if payment.status in ("declined", "failed"):
        message = "The card was declined. Try another card."
    elif payment.status == "requires_action":
        message = "Your bank wants you to confirm this payment: check your email for the link."
    elif payment.status == "pending" and secret is None:
        message = "The payment could not be started just now. Try again in a minute."
    return _json(
        200, PayStarted(payment_id=payment.id, status=payment.status, client_secret=secret, message=message)
    )


@router.post(
    "/pay/invoice/<practice_id>/payments/<payment_id>/confirm",
    responses=answers({200: body_of(InvoiceView, "The invoice as it now is.")}, 401, 409, 502),
)
def confirm_invoice_payment(
    practice_id: PracticeId, payment_id: PracticeId, body: Annotated[TokenIn, Body()]
) -> Response[str]:
    """After Stripe.js confirmed the card: record the success now if Stripe has it (the webhook
    may come later), and answer the invoice as it now is."""
    c = container()
    invoice = _invoice_of_token(practice_id, body.token)
    practice = c.practices.get(practice_id)
    invoice = c.invoices.confirm_page_payment(practice, invoice.id, payment_id, c.payments)
    return _json(200, view_of(practice_id, invoice, body.token))
