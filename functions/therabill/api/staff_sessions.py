"""Staff routes for service types, pricing and sessions (included by api/staff.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.staff_common import caller, created
from therabill.api.staff_models import DiagnosesIn
from therabill.api.staff_sessions_models import (
    BookingPaymentOut,
    BookingSettingsIn,
    BookingSettingsOut,
    CancellationOut,
    ClientBookingRuleIn,
    ClientBookingRuleOut,
    CopayOut,
    FeeOut,
    PriceOut,
    PricingRuleIn,
    PricingRuleOut,
    ReleaseOut,
    ResponsibilityIn,
    ResponsibilityOut,
    RuleSetOut,
    ServiceBookingRuleIn,
    ServiceBookingRuleOut,
    ServiceCreate,
    ServiceOut,
    ServicePolicyOut,
    ServiceUpdate,
    SessionBook,
    SessionCancel,
    SessionComplete,
    SessionList,
    SessionOut,
    SessionReschedule,
    ShareOut,
    SupervisionIn,
    SupervisionOut,
)
from therabill.bookings.service import Booking
from therabill.clients.responsibility import Responsibility, RuleSet, Share
from therabill.clinical.supervision import Supervision
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.policies.cancellation import CancellationPolicy, CancellationPolicyOverride, merge_policy
from therabill.services.models import PricingRule, ServiceType
from therabill.sessions.models import Session

router = APIGatewayRouter()

_ID = r"^[a-z]{2,5}_[0-9a-z]+$"
ClientId = Annotated[str, Path(min_length=3, max_length=40, pattern=_ID)]
ClinicianPathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@:\-]+$")]
ServiceId = Annotated[str, Path(min_length=3, max_length=40, pattern=_ID)]
SessionId = Annotated[str, Path(min_length=3, max_length=40, pattern=_ID)]
IdempotencyKey = Annotated[str, Header(alias="idempotency-key", min_length=8, max_length=255)]


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


def _fee_out(s: Session) -> FeeOut | None:
    f = s.fee
    if f is None:
        return None
    return FeeOut(
        amount=f.amount.amount,
        currency=f.amount.currency,
        reason=f.reason,
        explanation=f.explanation,
        counts_as_offence=f.counts_as_offence,
        offence_at=f.offence_at,
        waived_amount=f.waived_amount.amount,
        waiver_deadline=f.waiver_deadline,
        status=f.status,
        payment_id=f.payment_id,
        problem=f.problem,
        waived_by=f.waived_by,
        waived_at=f.waived_at,
    )


def _session_out(s: Session) -> SessionOut:
    price = None
    if s.price is not None:
        p = s.price
        price = PriceOut(
            amount=p.amount.amount,
            currency=p.amount.currency,
            unit=p.unit,
            unit_price=p.unit_price.amount,
            units=p.units,
            billed_minutes=p.billed_minutes,
            actual_seconds=p.actual_seconds,
            rule=p.rule,
            percent_bps=p.percent_bps,
            not_billed=p.not_billed,
            cpt_code=p.cpt_code,
            modifiers=list(p.modifiers),
        )
    cancellation = (
        CancellationOut.model_validate(s.cancellation, from_attributes=True) if s.cancellation else None
    )
    return SessionOut(
        id=s.id,
        client_id=s.client_id,
        service_id=s.service_id,
        clinician_id=s.clinician_id,
        status=s.status,
        scheduled_start=s.scheduled_start,
        scheduled_end=s.scheduled_end,
        checked_in_at=s.checked_in_at,
        actual_start=s.actual_start,
        actual_end=s.actual_end,
        completed_at=s.completed_at,
        no_show_at=s.no_show_at,
        price=price,
        cancellation=cancellation,
        copay=CopayOut(
            amount=s.copay.amount.amount,
            currency=s.copay.amount.currency,
            status=s.copay.status,
            payment_id=s.copay.payment_id,
            problem=s.copay.problem,
        )
        if s.copay
        else None,
        fee=_fee_out(s),
        booking_payment=BookingPaymentOut(
            kind=s.booking_payment.kind,
            amount_due=s.booking_payment.amount.amount,
            currency=s.booking_payment.amount.currency,
            payment_id=s.booking_payment.payment_id,
            status=s.booking_payment.status,
            hold_expires_at=s.booking_payment.hold_expires_at,
        )
        if s.booking_payment
        else None,
        release=ReleaseOut.model_validate(s.release, from_attributes=True) if s.release else None,
        booking_requirement=s.booking_rule,
        note_signed_at=s.note_signed_at,
        note_signed_by=s.note_signed_by,
        supervisor_approved_at=s.supervisor_approved_at,
        supervisor_approved_by=s.supervisor_approved_by,
        diagnoses=list(s.diagnoses) if s.diagnoses is not None else None,
        version=s.version,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


# -- service types ---------------------------------------------------------------------------------
@router.post("/services")
def create_service(body: Annotated[ServiceCreate, Body()]) -> Response[str]:
    caller = _caller()
    caller.require("services:manage")
    c = container()
    practice = c.practices.get(caller.practice_id)
    fields = body.model_dump()
    fields["modifiers"] = tuple(fields["modifiers"])
    service = c.service_catalog.create(caller.practice_id, currency=practice.currency, **fields)
    return created(_service_out(service))


@router.get("/services")
def list_services() -> list[ServiceOut]:
    caller = _caller()
    return [_service_out(s) for s in container().service_catalog.list(caller.practice_id)]


@router.get("/services/<service_id>")
def get_service(service_id: ServiceId) -> ServiceOut:
    caller = _caller()
    return _service_out(container().service_catalog.get(caller.practice_id, service_id))


@router.patch("/services/<service_id>")
def update_service(service_id: ServiceId, body: Annotated[ServiceUpdate, Body()]) -> ServiceOut:
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


@router.get("/services/<service_id>/cancellation-policy")
def get_service_cancellation_policy(service_id: ServiceId) -> ServicePolicyOut:
    """The service's own terms and the policy in force for its sessions. Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    service = c.service_catalog.get(caller.practice_id, service_id)
    return _policy_out(service, c.practices.get(caller.practice_id).cancellation_policy)


@router.put("/services/<service_id>/cancellation-policy")
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


@router.delete("/services/<service_id>/cancellation-policy")
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
@router.put("/clients/<client_id>/pricing/<service_id>")
def put_pricing_rule(
    client_id: ClientId, service_id: ServiceId, body: Annotated[PricingRuleIn, Body()]
) -> PricingRuleOut:
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
    caller = _caller()
    rule = container().service_catalog.get_rule(caller.practice_id, client_id, service_id)
    if rule is None:
        raise NotFoundError("no pricing rule for this client and service")
    return _rule_out(rule)


@router.delete("/clients/<client_id>/pricing/<service_id>")
def delete_pricing_rule(client_id: ClientId, service_id: ServiceId) -> Response[str]:
    caller = _caller()
    caller.require("services:manage")
    container().service_catalog.delete_rule(caller.practice_id, client_id, service_id)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


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


@router.put("/clients/<client_id>/responsibility")
def put_responsibility(client_id: ClientId, body: Annotated[ResponsibilityIn, Body()]) -> ResponsibilityOut:
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
    caller = _caller()
    c = container()
    c.clients.get(caller.practice_id, client_id)
    resp = c.clients.get_responsibility(caller.practice_id, client_id)
    if resp is None:
        raise NotFoundError("no responsibility rules for this client: the client pays all")
    return _responsibility_out(resp)


# -- sessions --------------------------------------------------------------------------------------
def _booking_out(booking: Booking) -> SessionOut:
    """The session, and (in this answer only) the payment's state and the client's pay link."""
    out = _session_out(booking.session)
    if out.booking_payment is None or booking.payment is None:
        return out
    payment = out.booking_payment.model_copy(
        update={"payment_status": booking.payment.status, "pay_link": booking.payment.link}
    )
    return out.model_copy(update={"booking_payment": payment})


@router.post("/sessions")
def book_session(body: Annotated[SessionBook, Body()], idempotency_key: IdempotencyKey) -> Response[str]:
    """Book a session. The session id is derived from the Idempotency-Key: a retried request meets
    the same session (the same key with another body is a 409). When the booking rules ask for a
    deposit or prepayment, the session is ``awaiting_payment`` until the client pays on the link
    emailed to them (``booking_payment.pay_link``); a card-on-file rule refuses the booking (409)
    unless the billing party has an active default card with consent."""
    caller = _caller()
    caller.require("sessions:write")
    booking = container().bookings.book(
        caller.practice_id,
        request_key=idempotency_key,
        client_id=body.client_id,
        service_id=body.service_id,
        clinician_id=body.clinician_id,
        start=body.scheduled_start,
        end=body.scheduled_end,
        by=caller.user_id,
        payer_id=body.payer_id,
    )
    return created(_booking_out(booking))


@router.get("/sessions")
def list_sessions(
    client_id: Annotated[str | None, Query(min_length=3, max_length=40, pattern=_ID)] = None,
    day: Annotated[str | None, Query(alias="date", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")] = None,
) -> SessionList:
    """A client's sessions (``client_id``) or the practice's sessions on one local day (``date``,
    YYYY-MM-DD in the practice's time zone), ordered by scheduled start. Exactly one of the two."""
    caller = _caller()
    sessions = container().sessions
    if (client_id is None) == (day is None):
        raise InvalidRequestError("give exactly one of client_id and date", field="date")
    if client_id is not None:
        return SessionList(
            items=[_session_out(s) for s in sessions.list_for_client(caller.practice_id, client_id)]
        )
    assert day is not None
    try:
        local_day = date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidRequestError("date is not a calendar date", field="date") from exc
    return SessionList(items=[_session_out(s) for s in sessions.list_day(caller.practice_id, local_day)])


@router.get("/sessions/<session_id>")
def get_session(session_id: SessionId) -> SessionOut:
    caller = _caller()
    return _session_out(container().sessions.get(caller.practice_id, session_id))


@router.post("/sessions/<session_id>/reschedule")
def reschedule_session(session_id: SessionId, body: Annotated[SessionReschedule, Body()]) -> SessionOut:
    caller = _caller()
    caller.require("sessions:write")
    session = container().sessions.reschedule(
        caller.practice_id, session_id, body.scheduled_start, body.scheduled_end
    )
    return _session_out(session)


@router.post("/sessions/<session_id>/check-in")
def check_in_session(session_id: SessionId) -> SessionOut:
    caller = _caller()
    caller.require("sessions:write")
    return _session_out(container().session_billing.check_in(caller.practice_id, session_id, caller.user_id))


@router.post("/sessions/<session_id>/complete")
def complete_session(session_id: SessionId, body: Annotated[SessionComplete, Body()]) -> SessionOut:
    caller = _caller()
    caller.require("sessions:write")
    session = container().session_billing.complete(
        caller.practice_id, session_id, body.actual_start, body.actual_end
    )
    return _session_out(session)


@router.post("/sessions/<session_id>/no-show")
def no_show_session(session_id: SessionId) -> SessionOut:
    caller = _caller()
    caller.require("sessions:write")
    return _session_out(container().session_billing.no_show(caller.practice_id, session_id, caller.user_id))


@router.post("/sessions/<session_id>/cancel")
def cancel_session(session_id: SessionId, body: Annotated[SessionCancel, Body()]) -> SessionOut:
    caller = _caller()
    caller.require("sessions:write")
    c = container()
    if c.sessions.get(caller.practice_id, session_id).status == "awaiting_payment":
        # Not yet paid: release the hold (the PaymentIntent is cancelled first; no fee).
        return _session_out(
            c.bookings.cancel_unpaid(caller.practice_id, session_id, recorded_by=caller.user_id)
        )
    session = c.session_billing.cancel(caller.practice_id, session_id, body.cancelled_by, caller.user_id)
    return _session_out(session)


@router.post("/sessions/<session_id>/waive-fee")
def waive_session_fee(session_id: SessionId) -> SessionOut:
    """Waive the session's cancellation / no-show fee: before the practice's nightly cutoff (409
    after) and only while unpaid (409 once paid: refund the payment instead)."""
    caller = _caller()
    caller.require("fees:waive")
    session = container().session_billing.waive_fee(caller.practice_id, session_id, caller.user_id)
    return _session_out(session)


# -- documentation state: the note's signature, the supervisor's approval, diagnoses -------------
# Therabill keeps only the state billing depends on (signed or not, approved or not, the codes),
# never a note's text.
@router.post("/sessions/<session_id>/note-signature")
def sign_session_note(session_id: SessionId) -> SessionOut:
    """Mark the session's note signed: the session's clinician or the owner, once the session is
    completed (409 before; a no-show needs no note). Signing again keeps the first signature."""
    caller = _caller()
    c = container()
    session = c.sessions.get(caller.practice_id, session_id)  # 404 outside the caller's practice
    caller.require_any_or_own(
        "notes:sign",
        own=caller.user_id == session.clinician_id,
        refusal="only the session's clinician or the owner may sign its note",
    )
    return _session_out(c.sessions.sign_note(caller.practice_id, session_id, caller.user_id))


@router.post("/sessions/<session_id>/supervisor-approval")
def approve_session(session_id: SessionId) -> SessionOut:
    """The supervisor of the session's clinician (or the owner) approves the completed session; when
    the practice bills only signed notes, the note must be signed first (409). Approving again
    keeps the first approval."""
    caller = _caller()
    c = container()
    session = c.sessions.get(caller.practice_id, session_id)  # 404 outside the caller's practice
    supervisor = c.sessions.supervision.supervisor_of(caller.practice_id, session.clinician_id)
    caller.require_any_or_own(
        "sessions:approve",
        own=supervisor is not None and caller.user_id == supervisor,
        refusal="only the clinician's supervisor or the owner may approve the session",
    )
    return _session_out(c.sessions.approve_supervision(caller.practice_id, session_id, caller.user_id))


@router.put("/sessions/<session_id>/diagnoses")
def put_session_diagnoses(session_id: SessionId, body: Annotated[DiagnosesIn, Body()]) -> SessionOut:
    """The session's own ICD-10-CM codes, over the client's (pointer order, the primary first; at
    most 12; an empty list removes them and the client's apply again)."""
    caller = _caller()
    caller.require("diagnoses:write")
    return _session_out(container().sessions.set_diagnoses(caller.practice_id, session_id, body.codes))


def _supervision_out(s: Supervision) -> SupervisionOut:
    return SupervisionOut.model_validate(s, from_attributes=True)


@router.get("/clinicians/<clinician_id>/supervision")
def get_supervision(clinician_id: ClinicianPathId) -> SupervisionOut:
    caller = _caller()
    found = container().sessions.supervision.get(caller.practice_id, clinician_id)
    if found is None:
        raise NotFoundError("this clinician has no supervisor")
    return _supervision_out(found)


@router.put("/clinicians/<clinician_id>/supervision")
def put_supervision(clinician_id: ClinicianPathId, body: Annotated[SupervisionIn, Body()]) -> SupervisionOut:
    """Set (or replace) the clinician's supervisor: from now on their completed sessions wait for the
    supervisor's approval before they are billed. Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    c.practices.get(caller.practice_id)
    found = c.sessions.supervision.set(caller.practice_id, clinician_id, body.supervisor_id, caller.user_id)
    return _supervision_out(found)


@router.delete("/clinicians/<clinician_id>/supervision")
def delete_supervision(clinician_id: ClinicianPathId) -> Response[str]:
    """The clinician is no longer supervised (404 if they were not). Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    container().sessions.supervision.clear(caller.practice_id, clinician_id)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


# -- paying at booking: the rules ------------------------------------------------------------------
@router.get("/practice/booking-payment")
def get_booking_settings() -> BookingSettingsOut:
    caller = _caller()
    return BookingSettingsOut.model_validate(
        container().booking_rules.settings(caller.practice_id), from_attributes=True
    )


@router.put("/practice/booking-payment")
def put_booking_settings(body: Annotated[BookingSettingsIn, Body()]) -> BookingSettingsOut:
    """The practice's first-visit rule (for services without their own) and how long a slot is held
    for its payment (minutes, default 30)."""
    caller = _caller()
    caller.require("practice:manage")
    c = container()
    c.practices.get(caller.practice_id)
    settings = c.booking_rules.put_settings(
        caller.practice_id,
        first_visit=body.first_visit,
        hold_minutes=body.hold_minutes,
        expected_version=body.version,
    )
    return BookingSettingsOut.model_validate(settings, from_attributes=True)


@router.get("/services/<service_id>/booking-payment")
def get_service_booking_rule(service_id: ServiceId) -> ServiceBookingRuleOut:
    caller = _caller()
    c = container()
    c.service_catalog.get(caller.practice_id, service_id)
    rule = c.booking_rules.service_rule(caller.practice_id, service_id)
    if rule is None:
        raise NotFoundError("no booking payment rule for this service")
    return ServiceBookingRuleOut.model_validate(rule, from_attributes=True)


@router.put("/services/<service_id>/booking-payment")
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


@router.delete("/services/<service_id>/booking-payment")
def delete_service_booking_rule(service_id: ServiceId) -> Response[str]:
    caller = _caller()
    caller.require("services:manage")
    c = container()
    c.service_catalog.get(caller.practice_id, service_id)
    c.booking_rules.delete_service_rule(caller.practice_id, service_id)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


@router.get("/clients/<client_id>/booking-payment")
def get_client_booking_rule(client_id: ClientId) -> ClientBookingRuleOut:
    caller = _caller()
    c = container()
    c.clients.get(caller.practice_id, client_id)
    rule = c.booking_rules.client_rule(caller.practice_id, client_id)
    if rule is None:
        raise NotFoundError("no booking payment override for this client")
    return ClientBookingRuleOut.model_validate(rule, from_attributes=True)


@router.put("/clients/<client_id>/booking-payment")
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


@router.delete("/clients/<client_id>/booking-payment")
def delete_client_booking_rule(client_id: ClientId) -> Response[str]:
    caller = _caller()
    caller.require("services:manage")
    c = container()
    c.clients.get(caller.practice_id, client_id)
    c.booking_rules.delete_client_rule(caller.practice_id, client_id)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")
