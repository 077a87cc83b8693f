"""Staff routes for sessions: booking, the lifecycle and its money, the documentation state billing
depends on (note signature, supervisor approval, diagnoses) (included by api/staff.py). Who
supervises a clinician is on their provider record (api/staff_providers.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers
from therabill.api.params import ID_PATTERN, IdempotencyKey, SessionId
from therabill.api.staff_common import caller
from therabill.api.staff_models import DiagnosesIn
from therabill.api.staff_sessions_models import (
    AuthorizationWarningOut,
    BookingPaymentOut,
    CancellationOut,
    CopayOut,
    FeeOut,
    PriceOut,
    ReleaseOut,
    SessionBook,
    SessionCancel,
    SessionComplete,
    SessionList,
    SessionOut,
    SessionReschedule,
)
from therabill.audit.models import Action
from therabill.bookings.planning import AUTHORIZATION_WORDS
from therabill.bookings.service import Booking
from therabill.core.errors import InvalidRequestError
from therabill.nightly.completion import ask_to_bill
from therabill.sessions.models import Session

router = APIGatewayRouter()
# A session's steps: refused by role (403) or by the session's state (409).
_STEP = answers({200: "The session as it now is."}, 403, 409)
_STEP_CHARGING = answers({200: "The session as it now is."}, 403, 409, 502)


def _caller() -> Caller:
    return caller(router)


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


# Long on purpose: one field-by-field mapping of a session to its API shape.
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
        billing=s.billing,
        note_signed_at=s.note_signed_at,
        note_signed_by=s.note_signed_by,
        supervisor_approved_at=s.supervisor_approved_at,
        supervisor_approved_by=s.supervisor_approved_by,
        diagnoses=list(s.diagnoses) if s.diagnoses is not None else None,
        version=s.version,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


def _shown(session: Session) -> SessionOut:
    """The session as answered: a read of its own codes recorded when it has any."""
    return _session_out(*audit_trail.sessions_shown(router, [session]))


def _charged(session: Session) -> SessionOut:
    """A step that may have charged a card (a copay, a fee): the charges recorded, then shown."""
    audit_trail.session_charges(router, session)
    return _shown(session)


# -- sessions --------------------------------------------------------------------------------------
def _booking_out(booking: Booking) -> SessionOut:
    """The session, and (in this answer only) the payment's state and the client's pay link."""
    out = _session_out(booking.session)
    if booking.authorization is not None:
        warning = AuthorizationWarningOut(
            code=booking.authorization, message=AUTHORIZATION_WORDS[booking.authorization]
        )
        out = out.model_copy(update={"authorization_warning": warning})
    if out.booking_payment is None or booking.payment is None:
        return out
    payment = out.booking_payment.model_copy(
        update={"payment_status": booking.payment.status, "pay_link": booking.payment.link}
    )
    return out.model_copy(update={"booking_payment": payment})


@router.post(
    "/sessions", status_code=201, responses=answers({201: "The booked session."}, 403, 404, 409, 502)
)
def book_session(body: Annotated[SessionBook, Body()], idempotency_key: IdempotencyKey) -> SessionOut:
    """Book a session. The session id is derived from the Idempotency-Key: a retried request meets
    the same session (the same key with another body is a 409). When the booking rules ask for a
    deposit or prepayment, the session is ``awaiting_payment`` until the client pays on the link
    emailed to them (``booking_payment.pay_link``); a card-on-file rule refuses the booking (409)
    unless the billing party has an active default card with consent. Where the client's payer
    requires an authorization and the visit goes beyond it (none, none covering the date, or its
    visits used up counting the sessions already booked), the answer carries
    ``authorization_warning``, or the booking is refused (409, ``details.reason``) when the
    practice's ``authorization_enforcement`` is ``refuse``; ``billing: self_pay`` books it as
    cash-pay instead (the practice's deposit and prepayment rules apply; the client is billed)."""
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
        self_pay=body.billing == "self_pay",
    )
    return _booking_out(booking)


@router.get("/sessions", responses=answers({200: "The sessions."}, 404))
def list_sessions(
    client_id: Annotated[
        str | None,
        Query(
            min_length=3,
            max_length=40,
            pattern=ID_PATTERN,
            description="the client whose sessions to list; required unless date is given (not both)",
        ),
    ] = None,
    day: Annotated[
        str | None,
        Query(
            alias="date",
            pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            description="a day, YYYY-MM-DD in the practice's time zone; required unless client_id "
            "is given (not both)",
        ),
    ] = None,
) -> SessionList:
    """A client's sessions (``client_id``) or the practice's sessions on one local day (``date``,
    YYYY-MM-DD in the practice's time zone), ordered by scheduled start. Exactly one of the two is
    required: neither or both is a 400."""
    caller = _caller()
    sessions = container().sessions
    if (client_id is None) == (day is None):
        raise InvalidRequestError("give exactly one of client_id and date", field="date")
    if client_id is not None:
        found = sessions.list_for_client(caller.practice_id, client_id)
    else:
        found = sessions.list_day(caller.practice_id, _day(day))
    return SessionList(items=[_session_out(s) for s in audit_trail.sessions_shown(router, found)])


def _day(day: str | None) -> date:
    """The listing's local day (given whenever client_id is not)."""
    assert day is not None
    try:
        return date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidRequestError("date is not a calendar date", field="date") from exc


@router.get("/sessions/<session_id>")
def get_session(session_id: SessionId) -> SessionOut:
    """One session."""
    caller = _caller()
    return _shown(container().sessions.get(caller.practice_id, session_id))


@router.post("/sessions/<session_id>/reschedule", responses=_STEP)
def reschedule_session(session_id: SessionId, body: Annotated[SessionReschedule, Body()]) -> SessionOut:
    """Move a scheduled session to another time (the cancellation policy may apply)."""
    caller = _caller()
    caller.require("sessions:write")
    session = container().sessions.reschedule(
        caller.practice_id, session_id, body.scheduled_start, body.scheduled_end
    )
    return _shown(session)


@router.post("/sessions/<session_id>/check-in", responses=_STEP_CHARGING)
def check_in_session(session_id: SessionId) -> SessionOut:
    """The client arrived: the session is checked in (the client's copay, if any, is charged to the
    saved card)."""
    caller = _caller()
    caller.require("sessions:write")
    return _charged(container().session_billing.check_in(caller.practice_id, session_id, caller.user_id))


def _maybe_bill_now(practice_id: str, session: Session, trigger: str) -> None:
    """A step that may make the session Ready: a client billed at completion has it billed within
    minutes (a one-time firing; the nightly run bills it if that cannot be asked for)."""
    c = container()
    requests = c.completion_requests
    if requests is None or session.status != "completed":
        return  # nothing to ask for: nothing read
    client = c.clients.get(practice_id, session.client_id)
    ask_to_bill(requests, c.practices.get(practice_id), client, session, trigger)


@router.post("/sessions/<session_id>/complete", responses=_STEP)
def complete_session(session_id: SessionId, body: Annotated[SessionComplete, Body()]) -> SessionOut:
    """The session took place: its price is fixed from the service and the client's pricing."""
    caller = _caller()
    caller.require("sessions:write")
    session = container().session_billing.complete(
        caller.practice_id, session_id, body.actual_start, body.actual_end
    )
    _maybe_bill_now(caller.practice_id, session, "completed")
    return _shown(session)


@router.post("/sessions/<session_id>/no-show", responses=_STEP)
def no_show_session(session_id: SessionId) -> SessionOut:
    """The client did not come: the no-show fee of the policy applies."""
    caller = _caller()
    caller.require("sessions:write")
    return _charged(container().session_billing.no_show(caller.practice_id, session_id, caller.user_id))


@router.post("/sessions/<session_id>/cancel", responses=_STEP)
def cancel_session(session_id: SessionId, body: Annotated[SessionCancel, Body()]) -> SessionOut:
    """Cancel the session: a late cancellation fee applies as the policy says."""
    caller = _caller()
    caller.require("sessions:write")
    c = container()
    if c.sessions.get(caller.practice_id, session_id).status == "awaiting_payment":
        # Not yet paid: release the hold (the PaymentIntent is cancelled first; no fee).
        return _shown(c.bookings.cancel_unpaid(caller.practice_id, session_id, recorded_by=caller.user_id))
    session = c.session_billing.cancel(caller.practice_id, session_id, body.cancelled_by, caller.user_id)
    return _charged(session)


@router.post("/sessions/<session_id>/waive-fee", responses=_STEP)
def waive_session_fee(session_id: SessionId) -> SessionOut:
    """Waive the session's cancellation / no-show fee: before the practice's nightly cutoff (409
    after) and only while unpaid (409 once paid: refund the payment instead)."""
    caller = _caller()
    caller.require("fees:waive")
    session = container().session_billing.waive_fee(caller.practice_id, session_id, caller.user_id)
    audit_trail.fee_waived(router, session)
    return _shown(session)


# -- documentation state: the note's signature, the supervisor's approval, diagnoses -------------
# Therabill keeps only the state billing depends on (signed or not, approved or not, the codes),
# never a note's text.
@router.post("/sessions/<session_id>/note-signature", responses=_STEP)
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
    signed = c.sessions.sign_note(caller.practice_id, session_id, caller.user_id)
    audit_trail.session_documented(router, Action.SESSION_NOTE_SIGN, signed)
    _maybe_bill_now(caller.practice_id, signed, "note-signed")
    return _shown(signed)


@router.post("/sessions/<session_id>/supervisor-approval", responses=_STEP)
def approve_session(session_id: SessionId) -> SessionOut:
    """The supervisor of the session's clinician (or the owner) approves the completed session; when
    the practice bills only signed notes, the note must be signed first (409). Approving again
    keeps the first approval."""
    caller = _caller()
    c = container()
    session = c.sessions.get(caller.practice_id, session_id)  # 404 outside the caller's practice
    supervisor = c.providers.clinicians.supervisor_of(caller.practice_id, session.clinician_id)
    caller.require_any_or_own(
        "sessions:approve",
        own=supervisor is not None and caller.user_id == supervisor,
        refusal="only the clinician's supervisor or the owner may approve the session",
    )
    approved = c.sessions.approve_supervision(caller.practice_id, session_id, caller.user_id)
    audit_trail.session_documented(router, Action.SESSION_APPROVE, approved)
    _maybe_bill_now(caller.practice_id, approved, "approved")
    return _shown(approved)


@router.put("/sessions/<session_id>/diagnoses", responses=_STEP)
def put_session_diagnoses(session_id: SessionId, body: Annotated[DiagnosesIn, Body()]) -> SessionOut:
    """The session's own ICD-10-CM codes, over the client's (pointer order, the primary first; at
    most 12; an empty list removes them and the client's apply again)."""
    caller = _caller()
    caller.require("diagnoses:write")
    session = container().sessions.set_diagnoses(caller.practice_id, session_id, body.codes)
    audit_trail.session_documented(router, Action.SESSION_DIAGNOSES_CHANGE, session)
    return _session_out(session)
