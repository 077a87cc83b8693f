"""A session and its lifecycle rules. Pure: each transition is decided here from the session as it
is, and written by the store as one conditional UpdateItem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from therabill.core.clock import require_aware
from therabill.core.errors import ConflictError, InvalidRequestError
from therabill.core.money import Money
from therabill.policies.cancellation import AssessmentReason
from therabill.services.pricing import Price
from therabill.sessions.errors import SessionEndsInTheFutureError, SessionTransitionError

# ``awaiting_payment``: booked with a deposit or prepayment due; the slot is held until the payment
# succeeds (→ booked) or the hold expires (→ released: the slot is free again, no fee).
SessionStatus = Literal[
    "awaiting_payment", "booked", "checked_in", "completed", "no_show", "cancelled", "released"
]
CancelledBy = Literal["client", "practice"]
DEFAULT_LATE_CANCELLATION_WINDOW_HOURS = 24
MAX_SESSION = timedelta(hours=24)
# How far a completion's real end may lie after our clock: the staff device's clock may run ahead.
COMPLETION_CLOCK_SKEW = timedelta(minutes=5)


class Cancellation(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    cancelled_at: datetime
    cancelled_by: CancelledBy
    recorded_by: str  # the staff user who recorded it
    minutes_before_start: int  # floor; negative once the session has started
    hours_before_start: int  # floor of the same
    window_hours: int
    late: bool  # less than window_hours before the scheduled start


# What happened to money a session asked for: ``due`` until tried; ``charged`` (card payment
# succeeded), ``pending`` (Stripe unreachable: the reconciler finishes it), ``requires_action``
# (the billing party was emailed an authentication link), ``credit`` (paid from the billing
# party's credit, e.g. a
# deposit: no card charge), ``retrying`` (declined; a retry is scheduled by
# the decline policy), ``balance`` (no card, no consent or a final decline: left open on the
# client's ledger), ``none`` (no fee), ``waived`` (a clinician waived the fee).
ChargeStatus = Literal[
    "due", "charged", "credit", "pending", "requires_action", "retrying", "balance", "none", "waived"
]


class CopayRecord(BaseModel):
    """The copay snapshot taken at check-in, and what became of it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    amount: Money
    status: ChargeStatus = "due"
    payment_id: str | None = None
    problem: str | None = None  # why it stayed a balance


class FeeRecord(BaseModel):
    """The policy engine's assessment of a cancelled or missed session (its Assessment, minus the
    display-only parts), and what became of the fee."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    amount: Money  # the fee assessed (zero when none)
    reason: AssessmentReason
    explanation: str  # client-facing, no clinical detail
    counts_as_offence: bool
    offence_at: datetime | None  # the offence's instant, for the client's later assessments
    waived_amount: Money
    waiver_deadline: datetime
    status: ChargeStatus
    payment_id: str | None = None
    problem: str | None = None
    waived_by: str | None = None
    waived_at: datetime | None = None


# What became of a booking's deposit or prepayment: ``awaiting`` (the slot is held), ``paid`` (the
# booking is confirmed), ``released`` (the hold ended unpaid), ``paid_after_release`` (the money
# came after the release: it stays the client's credit).
BookingPaymentStatus = Literal["awaiting", "paid", "released", "paid_after_release"]


class BookingPaymentRecord(BaseModel):
    """The payment a booking waits for (paying at booking), snapshotted when it is booked."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    kind: Literal["deposit", "prepayment"]
    amount: Money
    payment_id: str
    owner_id: str  # who pays: the client or one of their billing contacts
    hold_expires_at: datetime
    status: BookingPaymentStatus = "awaiting"


class Release(BaseModel):
    """Why a session awaiting payment let its slot go."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    released_at: datetime
    reason: str  # payment_not_received (the hold expired) or cancelled_before_payment (staff)
    recorded_by: str  # "system" or the staff user


class Session(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    id: str
    client_id: str
    service_id: str
    clinician_id: str
    scheduled_start: datetime
    scheduled_end: datetime
    status: SessionStatus
    created_at: datetime
    created_by: str
    updated_at: datetime
    version: int
    checked_in_at: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    completed_at: datetime | None = None
    price: Price | None = None
    no_show_at: datetime | None = None
    cancellation: Cancellation | None = None
    copay: CopayRecord | None = None
    fee: FeeRecord | None = None
    booking_payment: BookingPaymentRecord | None = None
    booking_rule: str | None = None  # what the booking rules asked for, and which: "deposit:service"
    # ``self_pay``: booked as cash-pay (e.g. past the client's authorization): the client pays for
    # this session whatever their coverage (None: the client's standing on the day decides).
    billing: Literal["self_pay"] | None = None
    release: Release | None = None
    # The documentation state billing depends on (never clinical content): the note's signature,
    # the supervisor's approval, and the session's own ICD-10-CM codes (None: the client's apply).
    note_signed_at: datetime | None = None
    note_signed_by: str | None = None
    supervisor_approved_at: datetime | None = None
    supervisor_approved_by: str | None = None
    diagnoses: tuple[str, ...] | None = None


# -- the nightly run's record on a session -------------------------------------------------------
def self_pay(session: Session) -> bool:
    """Booked as cash-pay: never insured, whatever the client's coverage."""
    return session.billing == "self_pay"


class BillingMark(BaseModel):
    """What the nightly run recorded on a session: ``started`` when a run claimed it (with the run
    and the action it chose), ``done`` once billed (with what came of it). Once per session."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    status: Literal["started", "done"]
    run_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    billed: int | None = None
    charged: int | None = None
    invoice_ids: tuple[str, ...] = ()
    payment_ids: tuple[str, ...] = ()
    problem: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Billable:
    """A session and the nightly run's record on it (None: no run has claimed it)."""

    session: Session
    mark: BillingMark | None


@dataclass(frozen=True)
class ToBill:
    """A completed or no-show session no nightly run has finished yet (its to-do row)."""

    session_id: str
    client_id: str
    scheduled_start: datetime


@dataclass(frozen=True)
class Change:
    """A legal transition: from ``expected`` (the state the write is conditioned on) to ``status``."""

    expected: SessionStatus
    status: SessionStatus
    fields: dict[str, Any] = field(default_factory=dict)


Outcome = Change | Session  # a Session: nothing to write (the same transition was already made)


def _illegal(session: Session, action: str, why: str | None = None) -> SessionTransitionError:
    return SessionTransitionError(
        why or f"a {session.status} session cannot be {action}",
        current_status=session.status,
        session_id=session.id,
        version=session.version,
    )


def check_times(start: datetime, end: datetime, what: str) -> tuple[datetime, datetime]:
    start, end = require_aware(start), require_aware(end)
    if end <= start:
        raise InvalidRequestError(f"the {what} end must be after its start", field=f"{what}_end")
    if end - start > MAX_SESSION:
        raise InvalidRequestError("a session cannot last more than 24 hours", field=f"{what}_end")
    return start, end


def check_completion_times(start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The real start and end of a session being completed: an end after its start, within a day,
    and not later than now (give or take the clock-skew tolerance)."""
    start, end = check_times(start, end, "actual")
    latest = now + COMPLETION_CLOCK_SKEW
    if end > latest:
        raise SessionEndsInTheFutureError(end, latest)
    return start, end


def reschedule(session: Session, start: datetime, end: datetime) -> Outcome:
    """Only a booked session moves. The same times again change nothing."""
    if session.status != "booked":
        raise _illegal(session, "rescheduled")
    if (session.scheduled_start, session.scheduled_end) == (start, end):
        return session
    return Change("booked", "booked", {"scheduled_start": start, "scheduled_end": end})


def confirm_booking(session: Session) -> Outcome:
    """The booking's payment succeeded: ``awaiting_payment → booked``. Anything else is left as it
    is (a repeat, or a session released before the money came: the caller looks at it)."""
    if session.status != "awaiting_payment":
        return session
    fields: dict[str, Any] = {}
    if session.booking_payment is not None:
        fields["booking_payment"] = session.booking_payment.model_copy(update={"status": "paid"})
    return Change("awaiting_payment", "booked", fields)


def release(session: Session, now: datetime, recorded_by: str, reason: str) -> Outcome:
    """The hold ends unpaid: ``awaiting_payment → released`` (no fee). Releasing again is harmless."""
    if session.status == "released":
        return session
    if session.status != "awaiting_payment":
        raise _illegal(session, "released")
    fields: dict[str, Any] = {"release": Release(released_at=now, reason=reason, recorded_by=recorded_by)}
    if session.booking_payment is not None:
        fields["booking_payment"] = session.booking_payment.model_copy(update={"status": "released"})
    return Change("awaiting_payment", "released", fields)


def check_in(session: Session, now: datetime, copay: Money | None = None) -> Outcome:
    """``copay``: the client's copay, snapshotted on the session (a repeated check-in keeps the first)."""
    if session.status == "checked_in":
        return session
    if session.status != "booked":
        raise _illegal(session, "checked in")
    fields: dict[str, Any] = {"checked_in_at": now}
    if copay is not None and copay.amount > 0:
        fields["copay"] = CopayRecord(amount=copay)
    return Change("booked", "checked_in", fields)


def complete(
    session: Session, start: datetime, end: datetime, now: datetime, price: Callable[[], Price]
) -> Outcome:
    """From checked_in only. Completing again with the same real start and end (the same instants)
    is harmless; other times on a completed session are a conflict."""
    if session.status == "completed":
        if (session.actual_start, session.actual_end) == (start, end):
            return session
        raise _illegal(session, "completed", "the session was already completed with other times")
    if session.status != "checked_in":
        raise _illegal(session, "completed")
    return Change(
        "checked_in",
        "completed",
        {"actual_start": start, "actual_end": end, "completed_at": now, "price": price()},
    )


def no_show(session: Session, now: datetime) -> Outcome:
    if session.status == "no_show":
        return session
    if session.status != "booked":
        raise _illegal(session, "marked as a no-show")
    return Change("booked", "no_show", {"no_show_at": now})


def cancel(session: Session, by: CancelledBy, recorded_by: str, now: datetime, window_hours: int) -> Outcome:
    """From booked or checked_in. Cancelling again by the same party is harmless (the first record
    stands); by the other party it is a conflict."""
    if session.status == "cancelled":
        assert session.cancellation is not None
        if session.cancellation.cancelled_by == by:
            return session
        raise _illegal(session, "cancelled", "the session was already cancelled by the other party")
    if session.status not in ("booked", "checked_in"):
        raise _illegal(session, "cancelled")
    seconds = (session.scheduled_start - now) // timedelta(seconds=1)
    record = Cancellation(
        cancelled_at=now,
        cancelled_by=by,
        recorded_by=recorded_by,
        minutes_before_start=seconds // 60,
        hours_before_start=seconds // 3600,
        window_hours=window_hours,
        late=seconds < window_hours * 3600,
    )
    return Change(session.status, "cancelled", {"cancellation": record})


# -- documentation state: not transitions (the status stays), each still one versioned write -------
def sign_note(session: Session, now: datetime, by: str) -> Outcome:
    """Record that the session's note is signed (its text lives in the EHR, never here). Only a
    completed session has a note to sign (a no-show needs none). Signing again keeps the first
    signer and time."""
    if session.note_signed_at is not None:
        return session
    if session.status != "completed":
        raise _illegal(session, "signed", "a note can be signed once the session is completed")
    return Change("completed", "completed", {"note_signed_at": now, "note_signed_by": by})


def approve_supervision(
    session: Session, now: datetime, by: str, *, supervised: bool, note_required: bool
) -> Outcome:
    """The supervisor (or the owner) approves a supervised clinician's completed session. When the
    practice bills only signed notes, the note is signed first. Approving again keeps the first."""
    if session.supervisor_approved_at is not None:
        return session
    if session.status != "completed":
        raise _illegal(session, "approved", "only a completed session can be approved")
    if not supervised:
        raise ConflictError(
            "the session's clinician has no supervisor: there is nothing to approve",
            reason="not_supervised",
            session_id=session.id,
        )
    if note_required and session.note_signed_at is None:
        raise ConflictError(
            "the note must be signed before the supervisor approves the session",
            reason="note_not_signed",
            session_id=session.id,
        )
    return Change("completed", "completed", {"supervisor_approved_at": now, "supervisor_approved_by": by})


def set_diagnoses(session: Session, codes: tuple[str, ...]) -> Outcome:
    """The session's own diagnosis codes (normalised already), over the client's; an empty list
    removes them (the client's apply again). Not on a cancelled or released session."""
    wanted = codes or None
    if session.diagnoses == wanted:
        return session
    if session.status in ("cancelled", "released"):
        raise _illegal(session, "given diagnoses")
    return Change(session.status, session.status, {"diagnoses": list(wanted) if wanted else None})
