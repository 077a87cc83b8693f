"""Staff routes for invoices and reports (included by api/staff.py)."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, body_of
from therabill.api.params import ID_PATTERN, IdempotencyKey, InvoiceId
from therabill.api.staff_common import caller, csv_response, json_response
from therabill.api.staff_invoices_models import (
    AppliedPaymentOut,
    InvoiceCreate,
    InvoiceLineOut,
    InvoiceOut,
    InvoicePage,
    InvoicePaymentIn,
    InvoicePdfOut,
    PaymentRow,
    PaymentsReport,
    RevenueReport,
    VoidIn,
)
from therabill.audit.models import Action
from therabill.core.money import Money
from therabill.invoices.models import Invoice, InvoiceStatus
from therabill.invoices.reports import ReportService, payments_csv, revenue_csv
from therabill.invoices.service import StandaloneLine

router = APIGatewayRouter()  # type: ignore[no-untyped-call]
# An invoice's steps: refused by role (403) or by the invoice's state (409).
_STEP = answers({200: "The invoice as it now is."}, 403, 409)

Format = Annotated[Literal["json", "csv"], Query()]


def _caller() -> Caller:
    return caller(router)


# Long on purpose: one field-by-field mapping of an invoice to its API shape.
def invoice_out(i: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=i.id,
        number=i.number,
        client_id=i.client_id,
        owner_id=i.owner_id,
        kind=i.kind,
        status=i.status,
        currency=i.currency,
        lines=[
            InvoiceLineOut(
                n=x.n,
                description=x.description,
                amount=x.amount.amount,
                category=x.category,
                source_key=x.source_key,
                session_id=x.session_id,
                service_date=x.service_date,
            )
            for x in i.lines
        ],
        total=i.total.amount,
        paid=i.paid.amount,
        balance=i.balance.amount,
        payments=[
            AppliedPaymentOut(
                payment_id=p.payment_id, amount=p.amount.amount, applied_at=p.applied_at, method=p.method
            )
            for p in i.payments
        ],
        issue_date=i.issue_date,
        due_date=i.due_date,
        period_start=i.period_start,
        period_end=i.period_end,
        memo=i.memo,
        access_code=i.access_code,
        locked=i.locked,
        failed_codes=i.failed_codes,
        created_at=i.created_at,
        created_by=i.created_by,
        sent_at=i.sent_at,
        paid_at=i.paid_at,
        voided_at=i.voided_at,
        void_reason=i.void_reason,
        uncollectible_at=i.uncollectible_at,
        reminders_sent=i.reminders_sent,
        next_reminder_at=i.next_reminder_at,
        sends=i.sends,
        version=i.version,
    )


# -- invoices --------------------------------------------------------------------------------------
@router.post(
    "/invoices",
    status_code=201,
    responses=answers(
        {
            201: body_of(InvoiceOut, "The new invoice."),
            200: body_of(InvoiceOut, "The invoice this Idempotency-Key made before."),
        },
        403,
        404,
        409,
    ),
)
def create_invoice(body: Annotated[InvoiceCreate, Body()], idempotency_key: IdempotencyKey) -> Response[str]:
    """Create an invoice (a draft; ``send: true`` sends it at once). The same Idempotency-Key
    again answers with the invoice it made."""
    caller = _caller()
    caller.require("invoices:write")
    invoices = container().invoices
    invoice, made = invoices.create(
        caller.practice_id,
        request_key=idempotency_key,
        client_id=body.client_id,
        owner_id=body.contact_id,
        kind=body.kind,
        created_by=caller.user_id,
        session_id=body.session_id,
        start=body.start,
        end=body.end,
        lines=[StandaloneLine(x.description, x.amount, x.category) for x in body.lines or []],
        due_date=body.due_date,
        memo=body.memo,
    )
    audit_trail.invoice_acted(router, Action.INVOICE_CREATE, invoice)
    if body.send and invoice.status in ("draft", "sending"):
        invoice = invoices.send(caller.practice_id, invoice.id)
    return json_response(201 if made else 200, invoice_out(invoice))


@router.get("/invoices", responses=answers({200: "A page of invoices."}, 404))
def list_invoices(
    status: Annotated[
        InvoiceStatus | None,
        Query(description="the invoices of this status; required unless client_id is given"),
    ] = None,
    client_id: Annotated[
        str | None,
        Query(
            min_length=3,
            max_length=40,
            pattern=ID_PATTERN,
            description="the client's invoices (with status: only those of that status); required "
            "unless status is given",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> InvoicePage:
    """Invoices by status, or a client's invoices (optionally of one status): status or client_id
    is required (neither is a 400)."""
    caller = _caller()
    items, next_cursor = container().invoices.list_invoices(
        caller.practice_id, status=status, client_id=client_id, limit=limit, cursor=cursor
    )
    return InvoicePage(items=[invoice_out(i) for i in items], next_cursor=next_cursor)


@router.get("/invoices/<invoice_id>")
def get_invoice(invoice_id: InvoiceId) -> InvoiceOut:
    """One invoice with its lines and the payments applied."""
    caller = _caller()
    return invoice_out(container().invoices.get(caller.practice_id, invoice_id))


@router.get("/invoices/<invoice_id>/pdf")
def invoice_pdf(invoice_id: InvoiceId) -> InvoicePdfOut:
    """The invoice's PDF, as base64 in JSON (the same document the email carries)."""
    caller = _caller()
    invoice, data = container().invoices.pdf(caller.practice_id, invoice_id)
    return InvoicePdfOut(
        filename=f"{invoice.number}.pdf",
        content_type="application/pdf",
        content_base64=base64.b64encode(data).decode(),
    )


@router.post("/invoices/<invoice_id>/send", responses=_STEP)
def send_invoice(invoice_id: InvoiceId) -> InvoiceOut:
    """Draft → Open: the email with the PDF goes to the billing party once."""
    caller = _caller()
    caller.require("invoices:write")
    return invoice_out(container().invoices.send(caller.practice_id, invoice_id))


@router.post("/invoices/<invoice_id>/resend", responses=_STEP)
def resend_invoice(invoice_id: InvoiceId) -> InvoiceOut:
    """Email the open invoice to the billing party again. Owner, biller or front desk."""
    caller = _caller()
    caller.require("invoices:write")
    return invoice_out(container().invoices.resend(caller.practice_id, invoice_id))


@router.post("/invoices/<invoice_id>/void", responses=_STEP)
def void_invoice(invoice_id: InvoiceId, body: Annotated[VoidIn, Body()]) -> InvoiceOut:
    """Void the invoice (nothing paid on it yet): it is no longer owed. Owner or biller."""
    caller = _caller()
    caller.require("invoices:manage")
    invoice = container().invoices.void(caller.practice_id, invoice_id, body.reason)
    audit_trail.invoice_acted(router, Action.INVOICE_VOID, invoice)
    return invoice_out(invoice)


@router.post("/invoices/<invoice_id>/uncollectible", responses=_STEP)
def mark_uncollectible(invoice_id: InvoiceId) -> InvoiceOut:
    """Mark the invoice uncollectible. Owner or biller."""
    caller = _caller()
    caller.require("invoices:manage")
    invoice = container().invoices.mark_uncollectible(caller.practice_id, invoice_id)
    audit_trail.invoice_acted(router, Action.INVOICE_UNCOLLECTIBLE, invoice)
    return invoice_out(invoice)


@router.post("/invoices/<invoice_id>/request-payment-method", responses=_STEP)
def request_payment_method(invoice_id: InvoiceId) -> InvoiceOut:
    """Email the billing party a link to save a new card."""
    caller = _caller()
    caller.require("invoices:write")
    return invoice_out(
        container().invoices.request_payment_method(caller.practice_id, invoice_id, caller.user_id)
    )


@router.post("/invoices/<invoice_id>/unlock", responses=_STEP)
def unlock_invoice(invoice_id: InvoiceId) -> InvoiceOut:
    """A new access code; the wrong-code counter back to zero."""
    caller = _caller()
    caller.require("invoices:manage")
    return invoice_out(container().invoices.unlock(caller.practice_id, invoice_id))


@router.post("/invoices/<invoice_id>/payments", responses=_STEP)
def record_invoice_payment(
    invoice_id: InvoiceId, body: Annotated[InvoicePaymentIn, Body()], idempotency_key: IdempotencyKey
) -> InvoiceOut:
    """Cash or a check taken for this invoice: posted to the ledger once per Idempotency-Key and
    applied to the invoice (Paid when nothing is left)."""
    caller = _caller()
    caller.require("charges:create")
    c = container()
    invoice = c.invoices.record_manual_payment(
        caller.practice_id,
        invoice_id,
        request_key=idempotency_key,
        amount=body.amount,
        method=body.method,
        reference=body.reference,
        refunds=c.refunds,
    )
    amount = Money(amount=body.amount, currency=invoice.total.currency)
    key = f"invoice-payment:{invoice_id}:{idempotency_key}"  # a retry (same key) records nothing new
    audit_trail.paid_by_hand(
        router, key=key, amount=amount, client_id=invoice.client_id, invoice_id=invoice_id
    )
    return invoice_out(invoice)


# -- reports ---------------------------------------------------------------------------------------
def _reports() -> ReportService:
    c = container()
    return ReportService(c.practices, c.clients, c.ledger)


# Long on purpose: the report's typed query parameters, then one mapping of its rows.
@router.get(
    "/reports/payments",
    responses=answers(
        {
            200: {
                "description": "The report: JSON, or a CSV file with format=csv.",
                "content": {
                    "application/json": {"model": PaymentsReport},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
        403,
        404,
    ),
)
def payments_report(
    start: Annotated[date, Query()], end: Annotated[date, Query()], format: Format = "json"
) -> Response[str]:
    """Every payment (money in: payments, deposits and prepayments) posted in [start, end] (the
    practice's local dates), by method; credits applied and write-offs are not payments.
    ``format=csv`` for a spreadsheet: a row a payment, the client's name beside its id, amounts as
    decimals (25.00) with a currency column."""
    caller = _caller()
    caller.require("reports:read")
    report = _reports().payments(caller.practice_id, start, end)
    if format == "csv":
        return csv_response(f"payments-{start}-{end}.csv", payments_csv(report))
    rows = [
        PaymentRow(
            posted_at=r.entry.posted_at,
            client_id=r.entry.client_id,
            method=r.entry.method or "other",
            amount=r.entry.amount.amount,
            payment_id=r.entry.payment_id,
            source_key=r.entry.source_key,
        )
        for r in report.rows
    ]
    return json_response(
        200,
        PaymentsReport(
            start=start,
            end=end,
            currency=report.currency,
            total=report.total,
            by_method=report.by_method,
            count=len(rows),
            rows=rows,
        ),
    )


@router.get(
    "/reports/revenue",
    responses=answers(
        {
            200: {
                "description": "The report: JSON, or a CSV file with format=csv.",
                "content": {
                    "application/json": {"model": RevenueReport},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
        403,
        404,
    ),
)
def revenue_report(
    start: Annotated[date, Query()], end: Annotated[date, Query()], format: Format = "json"
) -> Response[str]:
    """Charges (gross), adjustments (write-offs, waivers, voided charges, goodwill credit), returns
    (the store's sales given back) and net revenue; payments, refunds (and lost disputes) and what
    was collected; posted in [start, end], net revenue per local day. ``format=csv``: a row a local
    day with each of them, amounts as decimals (25.00) with a currency column."""
    caller = _caller()
    caller.require("reports:read")
    r = _reports().revenue(caller.practice_id, start, end)
    if format == "csv":
        return csv_response(f"revenue-{start}-{end}.csv", revenue_csv(r))
    return json_response(
        200,
        RevenueReport(
            start=start,
            end=end,
            currency=r.currency,
            charges=r.total.charges,
            adjustments=r.total.adjustments,
            returns=r.total.returns,
            refunds=r.total.refunds,
            net_revenue=r.total.net_revenue,
            collected=r.total.collected,
            by_day=r.by_day,
        ),
    )
