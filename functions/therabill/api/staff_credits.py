"""Staff routes for credits staff grant (included by api/staff.py): a credit on a client's (or
their billing contact's) account with a reason, and its take-back — each a new ledger entry, once
per Idempotency-Key (see ``ledger/grants.py``). Owner or biller."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.deps import container
from therabill.api.documents import answers
from therabill.api.params import IdempotencyKey
from therabill.api.params import PathId as Id
from therabill.api.staff_common import caller
from therabill.api.staff_credits_models import CreditCreate, CreditOut, CreditTakeBack, TakenBackOut
from therabill.audit.models import Action
from therabill.core.money import Money
from therabill.ledger.grants import StaffCredit

router = APIGatewayRouter()


def _out(c: StaffCredit) -> CreditOut:
    g, back = c.grant, c.taken_back
    return CreditOut(
        id=c.id,
        client_id=g.client_id,
        contact_id=g.owner_id,
        reason=c.reason,
        amount=g.amount.amount,
        currency=g.amount.currency,
        memo=g.memo,
        entry_id=g.id,
        posted_at=g.posted_at,
        taken_back=None
        if back is None
        else TakenBackOut(
            entry_id=back.id, amount=back.amount.amount, memo=back.memo, posted_at=back.posted_at
        ),
    )


@router.post(
    "/clients/<client_id>/credits", status_code=201, responses=answers({201: "The credit posted."}, 403, 409)
)
def grant_credit(
    client_id: Id, body: Annotated[CreditCreate, Body()], idempotency_key: IdempotencyKey
) -> CreditOut:
    """Credit a client's account (or, with ``contact_id``, their billing contact's) with a reason:
    goodwill, a discount, or money paid outside Stripe. It pays what the account owes now, and the
    rest is applied to the next amount due. Posted once per Idempotency-Key (the same key for
    another credit: 409). Owner or biller."""
    who = caller(router)
    who.require("credits:grant")
    c = container()
    c.clients.billing_party(who.practice_id, client_id, body.contact_id)  # else 404
    currency = c.practices.get(who.practice_id).currency
    credit = c.staff_credits.grant(
        who.practice_id,
        client_id=client_id,
        owner_id=body.contact_id,
        request_key=idempotency_key,
        amount=Money(amount=body.amount, currency=currency),
        reason=body.reason,
        memo=body.memo,
    )
    entry = audit_trail.entry(
        Action.CREDIT_GRANT,
        key=credit.id,
        amount=credit.grant.amount,
        client_id=client_id,
        entry_id=credit.grant.id,
    )
    audit_trail.audit(router, entry)
    return _out(credit)


@router.get("/clients/<client_id>/credits/<credit_id>", responses=answers({200: "The credit."}, 403))
def get_credit(client_id: Id, credit_id: Id) -> CreditOut:
    """A credit staff granted, and its take-back if there is one."""
    who = caller(router)
    who.require("read")
    return _out(container().staff_credits.get(who.practice_id, client_id, credit_id))


@router.post(
    "/clients/<client_id>/credits/<credit_id>/take-back",
    status_code=201,
    responses=answers({201: "The take-back posted."}, 403, 409),
)
def take_back_credit(
    client_id: Id, credit_id: Id, body: Annotated[CreditTakeBack, Body()], idempotency_key: IdempotencyKey
) -> CreditOut:
    """Take back what is still unused of a credit (all of it, or ``amount``): a new ledger entry,
    never an edit. Only the credit the account still holds can be taken back (credit already
    applied to a charge is spent): more is a 409 naming what is unused. A credit is taken back
    once; the same Idempotency-Key again answers the same take-back. Owner or biller."""
    who = caller(router)
    who.require("credits:grant")
    credit = container().staff_credits.take_back(
        who.practice_id,
        client_id=client_id,
        credit_id=credit_id,
        request_key=idempotency_key,
        amount=body.amount,
        memo=body.memo,
    )
    back = credit.taken_back
    assert back is not None
    entry = audit_trail.entry(
        Action.CREDIT_TAKE_BACK,
        key=f"{credit.id}:back",
        amount=back.amount,
        client_id=client_id,
        entry_id=back.id,
    )
    audit_trail.audit(router, entry)
    return _out(credit)
