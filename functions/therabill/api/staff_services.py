"""Staff routes for what a practice sells and how it is paid for: service types and their own
cancellation terms, client pricing rules, split billing, and the booking payment rules (included by
api/staff.py)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, no_content
from therabill.api.params import ClientId, ServiceId
from therabill.api.staff_common import caller, removed
from therabill.api.staff_sessions_models import (
    BookingSettingsIn,
    BookingSettingsOut,
    ClientBookingRuleIn,
    ClientBookingRuleOut,
    PricingRuleIn,
    PricingRuleOut,
    ResponsibilityIn,
    ResponsibilityOut,
    RuleSetOut,
    ServiceBookingRuleIn,
    ServiceBookingRuleOut,
    ServiceCreate,
    ServiceOut,
    ServicePolicyOut,
    ServiceUpdate,
    ShareOut,
)
from therabill.clients.responsibility import Responsibility, RuleSet, Share
from therabill.core.errors import NotFoundError
from therabill.policies.cancellation import CancellationPolicy, CancellationPolicyOverride, merge_policy
from therabill.services.models import PricingRule, ServiceType

router = APIGatewayRouter()
_REMOVED = answers({204: no_content("Removed.")}, 403)


def _caller() -> Caller:
    return caller(router)


# -- mapping domain → API --------------------------------------------------------------------------
def _service_out(s: ServiceType) -> ServiceOut:
    return ServiceOut(
        id=s.id,
        name=s.name,
        cpt_code=s.cpt_code,
        modifiers=list(s.modifiers),
        unit=s.unit,
        unit_price=s.unit_price.amount,
        currency=s.unit_price.currency,
        rounding=s.rounding,
        rounding_increment_minutes=s.rounding_increment_minutes,
        minimum_minutes=s.minimum_minutes,
        minimum_amount=s.minimum_amount,
        default_duration_minutes=s.default_duration_minutes,
        active=s.active,
        version=s.version,
        created_at=s.created_at,
        has_cancellation_policy=s.cancellation_policy is not None,
    )


def _rule_out(r: PricingRule) -> PricingRuleOut:
    return PricingRuleOut(
        client_id=r.client_id,
        service_id=r.service_id,
        kind=r.kind,
        amount=r.amount,
        percent_bps=r.percent_bps,
        currency=r.currency,
        not_billed=r.not_billed,
        updated_at=r.updated_at,
        updated_by=r.updated_by,
        version=r.version,
    )


# -- service types ---------------------------------------------------------------------------------
@router.post("/services", status_code=201, responses=answers({201: "The new service type."}, 403, 404, 409))
def create_service(body: Annotated[ServiceCreate, Body()]) -> ServiceOut:
    """Add a service type (its CPT code, unit and price). Owner or biller."""
    caller = _caller()
    caller.require("services:manage")
    c = container()
    practice = c.practices.get(caller.practice_id)
    fields = body.model_dump()
    fields["modifiers"] = tuple(fields["modifiers"])
    service = c.service_catalog.create(caller.practice_id, currency=practice.currency, **fields)
    return _service_out(service)


@router.get("/services")
def list_services() -> list[ServiceOut]:
    """The practice's service types."""
    caller = _caller()
    return [_service_out(s) for s in container().service_catalog.list(caller.practice_id)]


@router.get("/services/<service_id>")
def get_service(service_id: ServiceId) -> ServiceOut:
    """One service type."""
    caller = _caller()
    return _service_out(container().service_catalog.get(caller.practice_id, service_id))


@router.patch("/services/<service_id>", responses=answers({200: "The service type as changed."}, 403, 409))
def update_service(service_id: ServiceId, body: Annotated[ServiceUpdate, Body()]) -> ServiceOut:
    """Change a service type (omitted fields stay). Owner or biller."""
    caller = _caller()
    caller.require("services:manage")
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    service = container().service_catalog.update(
        caller.practice_id, service_id, changes, body.expected_version
    )
    return _service_out(service)


# -- a service's own cancellation / no-show terms --------------------------------------------------
def _policy_out(service: ServiceType, practice_policy: CancellationPolicy | None) -> ServicePolicyOut:
    base = practice_policy or CancellationPolicy()
    return ServicePolicyOut(
        service_id=service.id,
        override=service.cancellation_policy,
        effective=merge_policy(base, service.cancellation_policy),
    )


@router.get("/services/<service_id>/cancellation-policy", responses=answers({200: "The terms."}, 403))
def get_service_cancellation_policy(service_id: ServiceId) -> ServicePolicyOut:
    """The service's own terms and the policy in force for its sessions. Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    service = c.service_catalog.get(caller.practice_id, service_id)
    return _policy_out(service, c.practices.get(caller.practice_id).cancellation_policy)


@router.put("/services/<service_id>/cancellation-policy", responses=answers({200: "The terms."}, 403, 409))
def put_service_cancellation_policy(
    service_id: ServiceId, body: Annotated[CancellationPolicyOverride, Body()]
) -> ServicePolicyOut:
    """Give the service its own terms: only the parts given replace the practice's (a part given
    as null disables it for this service). Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    practice = c.practices.get(caller.practice_id)
    base = practice.cancellation_policy or CancellationPolicy()
    service = c.service_catalog.set_cancellation_policy(
        caller.practice_id, service_id, body, base, practice.currency
    )
    return _policy_out(service, practice.cancellation_policy)


@router.delete("/services/<service_id>/cancellation-policy", responses=answers({200: "The terms."}, 403, 409))
def delete_service_cancellation_policy(service_id: ServiceId) -> ServicePolicyOut:
    """Back to the practice's policy. Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    practice = c.practices.get(caller.practice_id)
    base = practice.cancellation_policy or CancellationPolicy()
    service = c.service_catalog.set_cancellation_policy(
        caller.practice_id, service_id, None, base, practice.currency
    )
    return _policy_out(service, practice.cancellation_policy)


# -- client pricing rules --------------------------------------------------------------------------
@router.put("/clients/<client_id>/pricing/<service_id>", responses=answers({200: "The rule."}, 403, 409))
def put_pricing_rule(
    client_id: ClientId, service_id: ServiceId, body: Annotated[PricingRuleIn, Body()]
) -> PricingRuleOut:
    """Set the client's own price for a service: a fixed amount or a percentage off. Owner or biller."""
    caller = _caller()
    caller.require("services:manage")
    c = container()
    c.clients.get(caller.practice_id, client_id)
    service = c.service_catalog.get(caller.practice_id, service_id)
    rule = c.service_catalog.put_rule(
        caller.practice_id,
        client_id,
        service,
        kind=body.kind,
        amount=body.amount,
        percent_bps=body.percent_bps,
        by=caller.user_id,
    )
    return _rule_out(rule)


@router.get("/clients/<client_id>/pricing/<service_id>")
def get_pricing_rule(client_id: ClientId, service_id: ServiceId) -> PricingRuleOut:
    """The client's own price for a service (404: none, the service's price applies)."""
    caller = _caller()
    rule = container().service_catalog.get_rule(caller.practice_id, client_id, service_id)
    if rule is None:
        raise NotFoundError("no pricing rule for this client and service")
    return _rule_out(rule)


@router.delete(
    "/clients/<client_id>/pricing/<service_id>",
    status_code=204,
    responses=_REMOVED,
)
def delete_pricing_rule(client_id: ClientId, service_id: ServiceId) -> Response[str]:
    """Remove the client's own price: the service's price applies again. Owner or biller."""
    caller = _caller()
    caller.require("services:manage")
    container().service_catalog.delete_rule(caller.practice_id, client_id, service_id)
    return removed()


# -- split billing: who pays what share ----------------------------------------------------------
def _responsibility_out(r: Responsibility) -> ResponsibilityOut:
    return ResponsibilityOut(
        client_id=r.client_id,
        rules=[
            RuleSetOut(
                kinds=list(rule.kinds),
                shares=[ShareOut(owner_id=s.owner_id, type=s.type, value=s.value) for s in rule.shares],
            )
            for rule in r.rules
        ],
        updated_at=r.updated_at,
        updated_by=r.updated_by,
        version=r.version,
    )


@router.put("/clients/<client_id>/responsibility", responses=answers({200: "The rules."}, 403, 409))
def put_responsibility(client_id: ClientId, body: Annotated[ResponsibilityIn, Body()]) -> ResponsibilityOut:
    """Split billing: which billing party pays what share of which kinds of charges (replaces the
    rules). Owner or biller."""
    caller = _caller()
    caller.require("services:manage")
    rules = [
        RuleSet(
            kinds=tuple(rule.kinds),
            shares=tuple(Share(owner_id=s.owner_id, type=s.type, value=s.value) for s in rule.shares),
        )
        for rule in body.rules
    ]
    resp = container().clients.put_responsibility(caller.practice_id, client_id, rules, caller.user_id)
    return _responsibility_out(resp)


@router.get("/clients/<client_id>/responsibility")
def get_responsibility(client_id: ClientId) -> ResponsibilityOut:
    """The client's split-billing rules (404: none, the client pays all)."""
    caller = _caller()
    c = container()
    c.clients.get(caller.practice_id, client_id)
    resp = c.clients.get_responsibility(caller.practice_id, client_id)
    if resp is None:
        raise NotFoundError("no responsibility rules for this client: the client pays all")
    return _responsibility_out(resp)


# -- paying at booking: the rules ------------------------------------------------------------------
@router.get("/practice/booking-payment", responses=answers({200: "The settings."}, 404))
def get_booking_settings() -> BookingSettingsOut:
    """The practice's booking payment settings."""
    caller = _caller()
    return BookingSettingsOut.model_validate(
        container().booking_rules.settings(caller.practice_id), from_attributes=True
    )


@router.put("/practice/booking-payment", responses=answers({200: "The settings."}, 403, 409))
def put_booking_settings(body: Annotated[BookingSettingsIn, Body()]) -> BookingSettingsOut:
    """The practice's first-visit rule (for services without their own), how long a slot is held
    for its payment (minutes, default 30), and what a booking beyond the client's authorization
    meets (``authorization_enforcement``: ``warn``, the default, or ``refuse``)."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    c.practices.get(caller.practice_id)
    settings = c.booking_rules.put_settings(
        caller.practice_id,
        first_visit=body.first_visit,
        hold_minutes=body.hold_minutes,
        expected_version=body.version,
        authorization_enforcement=body.authorization_enforcement,
    )
    return BookingSettingsOut.model_validate(settings, from_attributes=True)


@router.get("/services/<service_id>/booking-payment")
def get_service_booking_rule(service_id: ServiceId) -> ServiceBookingRuleOut:
    """What booking the service asks for (404: no rule of its own)."""
    caller = _caller()
    c = container()
    c.service_catalog.get(caller.practice_id, service_id)
    rule = c.booking_rules.service_rule(caller.practice_id, service_id)
    if rule is None:
        raise NotFoundError("no booking payment rule for this service")
    return ServiceBookingRuleOut.model_validate(rule, from_attributes=True)


@router.put("/services/<service_id>/booking-payment", responses=answers({200: "The rule."}, 403, 409))
def put_service_booking_rule(
    service_id: ServiceId, body: Annotated[ServiceBookingRuleIn, Body()]
) -> ServiceBookingRuleOut:
    """What booking the service asks for: a deposit (flat ``deposit_amount`` or
    ``deposit_percent_bps`` of the scheduled price), a full ``prepayment``, a ``card_on_file`` or
    ``none``; ``first_visit`` applies instead when the client has no earlier session."""
    caller = _caller()
    caller.require("services:manage")
    c = container()
    c.service_catalog.get(caller.practice_id, service_id)
    rule = c.booking_rules.put_service_rule(
        caller.practice_id, service_id, rule=body.rule, first_visit=body.first_visit
    )
    return ServiceBookingRuleOut.model_validate(rule, from_attributes=True)


@router.delete(
    "/services/<service_id>/booking-payment",
    status_code=204,
    responses=_REMOVED,
)
def delete_service_booking_rule(service_id: ServiceId) -> Response[str]:
    """Remove the service's booking rule: the practice's applies. Owner or biller."""
    caller = _caller()
    caller.require("services:manage")
    c = container()
    c.service_catalog.get(caller.practice_id, service_id)
    c.booking_rules.delete_service_rule(caller.practice_id, service_id)
    return removed()


@router.get("/clients/<client_id>/booking-payment")
def get_client_booking_rule(client_id: ClientId) -> ClientBookingRuleOut:
    """The client's override of the booking rules (404: none)."""
    caller = _caller()
    c = container()
    c.clients.get(caller.practice_id, client_id)
    rule = c.booking_rules.client_rule(caller.practice_id, client_id)
    if rule is None:
        raise NotFoundError("no booking payment override for this client")
    return ClientBookingRuleOut.model_validate(rule, from_attributes=True)


@router.put("/clients/<client_id>/booking-payment", responses=answers({200: "The override."}, 403, 409))
def put_client_booking_rule(
    client_id: ClientId, body: Annotated[ClientBookingRuleIn, Body()]
) -> ClientBookingRuleOut:
    """The client's override of every booking rule (``{"kind": "none"}`` waives them)."""
    caller = _caller()
    caller.require("services:manage")
    c = container()
    c.clients.get(caller.practice_id, client_id)
    return ClientBookingRuleOut.model_validate(
        c.booking_rules.put_client_rule(caller.practice_id, client_id, body.rule), from_attributes=True
    )


@router.delete(
    "/clients/<client_id>/booking-payment",
    status_code=204,
    responses=_REMOVED,
)
def delete_client_booking_rule(client_id: ClientId) -> Response[str]:
    """Remove the client's override. Owner or biller."""
    caller = _caller()
    caller.require("services:manage")
    c = container()
    c.clients.get(caller.practice_id, client_id)
    c.booking_rules.delete_client_rule(caller.practice_id, client_id)
    return removed()
