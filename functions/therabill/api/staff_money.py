"""Staff routes for refunds and payments taken in person (included by api/staff.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from therabill.api import audit_trail
from therabill.api.deps import container
from therabill.api.documents import answers, body_of
from therabill.api.inputs import Flag, PositiveMinorUnits, Text
from therabill.api.outputs import Amount
from therabill.api.params import IdempotencyKey
from therabill.api.params import PathId as Id
from therabill.api.staff_common import caller, json_response
from therabill.core.ids import derived_id
from therabill.payments.refunds import Refund

router = APIGatewayRouter()


class RefundCreate(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    amount: PositiveMinorUnits | None = Field(default=None, description="minor units; omit: all that is left")
    memo: Text = Field(default="", max_length=200)
    write_off: Flag = Field(
        default=False,
        description="also write off what is refunded: the payer does not owe it again "
        "(default: the refunded payment's amount is owed again)",
    )


class RefundOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    payment_id: str
    amount: Amount
    currency: str
    status: str
    stripe_refund_id: str | None
    failure_reason: str | None
    write_off: bool
    created_at: datetime


class ManualPaymentCreate(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    amount: PositiveMinorUnits
    method: Literal["cash", "check", "other"]
    reference: Text = Field(default="", max_length=40, description="e.g. check no.")
    memo: Text = Field(default="", max_length=200)
    contact_id: str | None = Field(
        default=None,
        pattern=r"^con_[0-9a-z]+$",
        description="the billing contact who paid (split billing); omit when the client paid",
    )


class ManualPaymentOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    entry_id: str
    amount: Amount
    currency: str
    method: str
    memo: str
    posted_at: datetime


def _refund_out(r: Refund) -> RefundOut:
    return RefundOut(
        id=r.id,
        payment_id=r.payment_id,
        amount=r.amount.amount,
        currency=r.amount.currency,
        status=r.status,
        stripe_refund_id=r.stripe_refund_id,
        failure_reason=r.failure_reason,
        write_off=r.write_off,
        created_at=r.created_at,
    )


@router.post(
    "/clients/<client_id>/payments/<payment_id>/refunds",
    status_code=201,
    responses=answers(
        {
            201: body_of(RefundOut, "Refunded (or failed: see status)."),
            202: body_of(RefundOut, "Stripe did not answer yet: pending; the outcome comes later."),
        },
        403,
        409,
        502,
    ),
)
def refund(
    client_id: Id,
    payment_id: Id,
    body: Annotated[RefundCreate, Body()],
    idempotency_key: IdempotencyKey,
) -> Response[str]:
    """Refund all or part of a card payment. The same Idempotency-Key again answers the same refund
    and refunds nothing twice. Owner or biller."""
    who = caller(router)
    who.require("refunds:create")
    c = container()
    c.clients.get(who.practice_id, client_id)
    result = c.refunds.refund(
        who.practice_id,
        client_id=client_id,
        payment_id=payment_id,
        request_key=idempotency_key,
        amount=body.amount,
        memo=body.memo,
        created_by=who.user_id,
        write_off=body.write_off,
    )
    audit_trail.refunded(router, result, client_id=client_id)
    return json_response(202 if result.status == "pending" else 201, _refund_out(result))


@router.post(
    "/clients/<client_id>/payments/manual",
    status_code=201,
    responses=answers({201: "The ledger entry posted."}, 403, 409),
)
def manual_payment(
    client_id: Id, body: Annotated[ManualPaymentCreate, Body()], idempotency_key: IdempotencyKey
) -> ManualPaymentOut:
    """Cash or a check taken in person: posted to the ledger once per Idempotency-Key. Owner, biller
    or front desk."""
    who = caller(router)
    who.require("charges:create")
    c = container()
    c.clients.billing_party(
        who.practice_id, client_id, body.contact_id
    )  # the client, or their own contact: else 404
    posted = c.refunds.record_manual_payment(
        who.practice_id,
        client_id=client_id,
        request_key=idempotency_key,
        amount=body.amount,
        method=body.method,
        reference=body.reference,
        memo=body.memo,
        owner_id=body.contact_id,
    )
    key = derived_id("man", who.practice_id, idempotency_key)  # as the posting's source is
    audit_trail.paid_by_hand(router, key=key, amount=posted.amount, client_id=client_id, entry_id=posted.id)
    return ManualPaymentOut(
        entry_id=posted.id,
        amount=posted.amount.amount,
        currency=posted.amount.currency,
        method=posted.method or body.method,
        memo=posted.memo,
        posted_at=posted.posted_at,
    )
