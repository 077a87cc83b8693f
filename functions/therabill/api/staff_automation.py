"""Staff routes for billing automation (included by api/staff.py): the practice's auto-billing and
AutoPay default, and AutoPay per billing party (the client, or a billing contact)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api.deps import container
from therabill.api.documents import answers
from therabill.api.params import PathId as Id
from therabill.api.staff_automation_models import (
    AutomationIn,
    AutomationOut,
    AutoPayIn,
    AutoPayOut,
    CadenceIn,
    CadenceOut,
)
from therabill.api.staff_common import caller
from therabill.cards.autopay import REASONS, AutoPayState
from therabill.clients.models import Client
from therabill.core.cadence import cadence_of
from therabill.practices.models import Practice

router = APIGatewayRouter()

ContactId = Annotated[str | None, Query(pattern=r"^con_[0-9a-z]+$", max_length=40)]


def _automation_out(p: Practice) -> AutomationOut:
    return AutomationOut(
        auto_billing=p.auto_billing,
        autopay_default=p.autopay_default,
        billing_cadence=p.billing_cadence,
        monthly_billing_day=p.monthly_billing_day,
        auto_billing_since=p.auto_billing_since,
        backfill_from=p.backfill_from,
        version=p.version,
    )


def _cadence_out(client: Client, practice: Practice) -> CadenceOut:
    return CadenceOut(
        client_id=client.id,
        cadence=client.billing_cadence,
        practice_cadence=practice.billing_cadence,
        effective=cadence_of(practice.billing_cadence, client.billing_cadence),
        version=client.version,
    )


def _autopay_out(s: AutoPayState) -> AutoPayOut:
    party = s.party
    return AutoPayOut(
        client_id=party.client_id,
        contact_id=party.owner_id if party.is_contact else None,
        enabled=party.autopay,
        practice_default=s.practice_default,
        autopay=s.on,
        can_charge=s.blocked is None,
        blocked_reason=s.blocked,
        blocked_text=REASONS[s.blocked] if s.blocked else None,
        version=party.version,
    )


@router.get("/practice/billing-automation", responses=answers({200: "The settings."}, 403))
def get_automation() -> AutomationOut:
    """Auto-billing (the nightly run bills Ready items at the cutoff), the AutoPay default and the
    billing cadence."""
    who = caller(router)
    who.require("read")
    return _automation_out(container().practices.get(who.practice_id))


@router.put("/practice/billing-automation", responses=answers({200: "The settings."}, 403, 409))
def put_automation(body: Annotated[AutomationIn, Body()]) -> AutomationOut:
    """Turn auto-billing on or off, set the AutoPay default, the billing cadence (nightly; at
    completion: a self-pay session billed within minutes of becoming Ready; monthly: one invoice
    per billing party on ``monthly_billing_day``) and that day — each only when given; with
    ``expected_version``, refused (409) if the practice changed since. Turning auto-billing on
    takes ``backfill_from``: the unbilled sessions served from that date until today are billed by
    the next run (listed apart as the backfill); older ones wait for staff. Owner only."""
    who = caller(router)
    who.require("practice:manage")
    practice = container().practices.set_billing_automation(
        who.practice_id,
        auto_billing=body.auto_billing,
        autopay_default=body.autopay_default,
        billing_cadence=body.billing_cadence,
        monthly_billing_day=body.monthly_billing_day,
        backfill_from=body.backfill_from,
        expected_version=body.expected_version,
    )
    return _automation_out(practice)


@router.get("/clients/<client_id>/autopay", responses=answers({200: "AutoPay for the billing party."}, 403))
def get_autopay(client_id: Id, contact_id: ContactId = None) -> AutoPayOut:
    """AutoPay for the client (or, with ``contact_id``, their billing contact): the own choice, what
    holds, and whether a session charge can be made to the card on file now (else why not)."""
    who = caller(router)
    who.require("read")
    return _autopay_out(container().autopay.state(who.practice_id, client_id, contact_id))


@router.put(
    "/clients/<client_id>/autopay", responses=answers({200: "AutoPay for the billing party."}, 403, 409)
)
def put_autopay(client_id: Id, body: Annotated[AutoPayIn, Body()]) -> AutoPayOut:
    """Turn AutoPay on or off for the client (or their billing contact), or back to the practice's
    default (null). Turning it on is refused (409, ``details.reason``) where no charge can happen:
    the practice cannot take charges, no card on file, or a consent revoked, expired or not
    covering session charges. Owner, biller or front desk."""
    who = caller(router)
    who.require("cards:manage")
    state = container().autopay.choose(
        who.practice_id,
        client_id,
        body.contact_id,
        enabled=body.enabled,
        expected_version=body.expected_version,
    )
    return _autopay_out(state)


@router.get("/clients/<client_id>/billing-cadence", responses=answers({200: "The client's cadence."}, 403))
def get_cadence(client_id: Id) -> CadenceOut:
    """When the client's self-pay sessions are billed: their own choice, the practice's, what holds."""
    who = caller(router)
    who.require("read")
    c = container()
    return _cadence_out(c.clients.get(who.practice_id, client_id), c.practices.get(who.practice_id))


@router.put(
    "/clients/<client_id>/billing-cadence", responses=answers({200: "The client's cadence."}, 403, 409)
)
def put_cadence(client_id: Id, body: Annotated[CadenceIn, Body()]) -> CadenceOut:
    """Bill the client's self-pay sessions nightly, at completion or monthly, or as the practice
    does (null);
    with ``expected_version``, refused (409) if the client changed since. Owner, biller or front
    desk. A session already billed is never billed again; one not yet billed follows the new
    cadence."""
    who = caller(router)
    who.require("clients:write")
    c = container()
    client = c.clients.set_billing_cadence(
        who.practice_id, client_id, body.cadence, expected_version=body.expected_version
    )
    return _cadence_out(client, c.practices.get(who.practice_id))
