"""Staff routes of the nightly run (included by api/staff.py): tonight's Ready / Incomplete listing,
the evening summary (the same dry run), holds and fee waivers until the cutoff, run now, past runs
and their reports, and the run's settings (holiday calendar, summary lead time)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from therabill.api import audit_trail
from therabill.api.auth import Caller
from therabill.api.deps import container
from therabill.api.documents import answers, body_of
from therabill.api.staff_common import caller, json_response
from therabill.api.staff_nightly_models import (
    BillNowIn,
    HoldOut,
    NightlyItemOut,
    NightlyListingOut,
    NightlySettingsIn,
    NightlySettingsOut,
    NightlyTotalsOut,
    ReportOut,
    RunItemOut,
    RunNowOut,
    RunOut,
    RunPage,
)
from therabill.core.errors import InvalidRequestError
from therabill.nightly.listing import Listing
from therabill.nightly.models import (
    Assessment,
    ItemFacts,
    NightRun,
    RunItem,
    run_id,
)
from therabill.practices.models import Practice

router = APIGatewayRouter()  # type: ignore[no-untyped-call]
_READ = answers({200: "OK."}, 403, 404)
_ITEM = answers({200: "The item."}, 403, 409)

_ID = r"^[a-z]{2,5}_[0-9a-z]+$"
SessionId = Annotated[str, Path(min_length=3, max_length=40, pattern=_ID)]
RunDate = Annotated[str, Path(min_length=10, max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]


def _caller() -> Caller:
    return caller(router)


def _item_out(f: ItemFacts, a: Assessment, listing: Listing) -> NightlyItemOut:
    return NightlyItemOut(
        session_id=f.session_id,
        client_id=f.client_id,
        client_name=f.client_name,
        service_date=f.service_date,
        status=f.status,
        state=a.state,
        action=a.action,
        amount=a.amount,
        currency=f.currency,
        reasons=list(a.reasons),
        reason_texts=a.reason_texts,
        will=listing.will(f, a),
        bills_on=f.monthly_on if listing.disposition(f, a) in ("consolidate", "later") else None,
    )


def _listing_out(listing: Listing) -> NightlyListingOut:
    ready = listing.of("ready")
    backfill = [(f, a) for f, a in ready if f.before_auto == "backfill"]
    charge = [a.amount for _, a in listing.tonight("charge")]
    send = [a.amount for _, a in listing.tonight("send")]
    auto = listing.practice.auto_billing
    return NightlyListingOut(
        auto_billing=auto,
        run_date=listing.run_date,
        cutoff_at=listing.cutoff_at,
        runs_tonight=listing.decision_runs,
        no_run_reason=listing.decision_reason or None,
        run_id=run_id(listing.practice.id, listing.run_date),
        run_status=listing.run.status if listing.run else None,
        totals=NightlyTotalsOut(
            ready=len(ready),
            ready_amount=sum(a.amount for _, a in ready),
            to_charge=len(charge),
            to_charge_amount=sum(charge),
            to_send=len(send),
            to_send_amount=sum(send),
            incomplete=len(listing.of("incomplete")),
            skipped=len(listing.of("skipped")),
            held=len(listing.of("held")),
            backfill=len(backfill),
            waiting_for_staff=len(listing.waiting("staff")),
            later=len(listing.waiting("later")),
        ),
        ready=[_item_out(f, a, listing) for f, a in ready if f.before_auto != "backfill"],
        backfill=[_item_out(f, a, listing) for f, a in backfill],
        incomplete=[_item_out(f, a, listing) for f, a in listing.of("incomplete")],
        skipped=[_item_out(f, a, listing) for f, a in listing.of("skipped")],
        held=[_item_out(f, a, listing) for f, a in listing.of("held")],
    )


def _run_out(run: NightRun, items: list[RunItem] | None = None) -> RunOut:
    return RunOut(
        id=run.id,
        run_date=run.run_date,
        status=run.status,
        trigger=run.trigger,
        started_at=run.started_at,
        finished_at=run.finished_at,
        planned=run.planned,
        finished=run.finished,
        moved_from=list(run.moved_from),
        report=ReportOut.model_validate(run.report.model_dump()) if run.report else None,
        items=None
        if items is None
        else [
            RunItemOut(
                session_id=i.session_id,
                client_id=i.client_id,
                amount=i.amount,
                action=i.action,
                status=i.status,
                outcome=i.outcome,
                billed=i.billed,
                charged=i.charged,
                invoice_ids=list(i.invoice_ids),
                payment_ids=list(i.payment_ids),
                problem=i.problem,
                sessions=list(i.sessions),
            )
            for i in items
        ],
    )


def _settings_out(p: Practice) -> NightlySettingsOut:
    return NightlySettingsOut(
        time_zone=p.time_zone,
        cutoff_hour=p.cutoff_hour,
        summary_hours_before=p.summary_hours_before,
        holidays=dict(p.holidays),
        version=p.version,
    )


# -- tonight ----------------------------------------------------------------------------------------
@router.get("/nightly/tonight", responses=_READ)
def tonight() -> NightlyListingOut:
    """Tonight's Ready items and the Incomplete ones with every reason that holds; $0 sessions and
    clients not billed are listed as skipped. A dry run: nothing is written."""
    caller = _caller()
    caller.require("nightly:read")
    return _listing_out(container().nightly.listing(caller.practice_id))


@router.get("/nightly/summary", responses=_READ)
def evening_summary() -> NightlyListingOut:
    """The evening summary: exactly what the next run will do at its cutoff (the same dry run)."""
    caller = _caller()
    caller.require("nightly:read")
    return _listing_out(container().nightly.summary(caller.practice_id))


@router.post("/nightly/items/<session_id>/hold", responses=_ITEM)
def hold_item(session_id: SessionId) -> HoldOut:
    """Keep a session out of tonight's run (until the cutoff; it is considered again tomorrow)."""
    caller = _caller()
    caller.require("nightly:manage")
    rd = container().nightly.hold(caller.practice_id, session_id, caller.user_id)
    return HoldOut(session_id=session_id, run_date=rd, held=True)


@router.delete("/nightly/items/<session_id>/hold", responses=_ITEM)
def release_item(session_id: SessionId) -> HoldOut:
    """Put a held session back into tonight's run (until the cutoff)."""
    caller = _caller()
    caller.require("nightly:manage")
    rd = container().nightly.release(caller.practice_id, session_id)
    return HoldOut(session_id=session_id, run_date=rd, held=False)


@router.post("/nightly/items/<session_id>/waive-fee", responses=_ITEM)
def waive_item_fee(session_id: SessionId) -> HoldOut:
    """Waive a session's cancellation / no-show fee before the cutoff (the clinician waiver)."""
    caller = _caller()
    caller.require("nightly:manage")
    c = container()
    audit_trail.fee_waived(
        router, c.session_billing.waive_fee(caller.practice_id, session_id, caller.user_id)
    )
    return HoldOut(session_id=session_id, run_date=c.nightly.tonight(caller.practice_id), held=False)


@router.get("/nightly/settings", responses=_READ)
def get_settings() -> NightlySettingsOut:
    """The holiday calendar and the evening summary's lead time."""
    caller = _caller()
    caller.require("nightly:read")
    return _settings_out(container().practices.get(caller.practice_id))


@router.put("/nightly/settings", responses=answers({200: "The settings."}, 403, 404, 409))
def put_settings(body: Annotated[NightlySettingsIn, Body()]) -> NightlySettingsOut:
    """The holiday calendar (``{"2026-12-25": "skip", "2026-12-31": "2026-12-30"}``) and the
    evening summary's lead time. Owner only."""
    caller = _caller()
    caller.require("practice:manage")
    practice = container().practices.set_nightly_settings(
        caller.practice_id,
        holidays=body.holidays,
        summary_hours_before=body.summary_hours_before,
        expected_version=body.expected_version,
    )
    return _settings_out(practice)


# -- runs -------------------------------------------------------------------------------------------
@router.post(
    "/billing-runs",
    status_code=202,
    responses=answers(
        {
            200: body_of(RunNowOut, "Not run: tonight is a holiday (skipped or moved); see skipped_reason."),
            202: body_of(RunNowOut, "The run started (or, started before, resumes)."),
        },
        403,
        404,
        409,
    ),
)
def run_now() -> object:
    """Run tonight's run now (202): started once per local date; again, it only resumes. With
    auto-billing off it bills every Ready item as staff billing does (``/nightly/bill-now``: 409
    while the date's run is still billing an earlier selection)."""
    caller = _caller()
    caller.require("nightly:run")
    nightly = container().nightly
    run = nightly.run_now(caller.practice_id, trigger=f"staff:{caller.user_id}")
    if run is None:
        practice = container().practices.get(caller.practice_id)
        rd = nightly.tonight(caller.practice_id)
        reason = practice.holidays.get(rd.isoformat(), "")
        return json_response(
            200,
            RunNowOut(
                run=None,
                skipped_reason="holiday: skipped" if reason == "skip" else f"holiday: moved to {reason}",
            ),
        )
    current = nightly.find_run(caller.practice_id, run.run_date) or run
    return json_response(202, RunNowOut(run=_run_out(current), skipped_reason=None))


@router.post(
    "/nightly/bill-now",
    status_code=202,
    responses=answers(
        {202: body_of(RunNowOut, "The staff run started (or, started before, resumes).")}, 403, 409
    ),
)
def bill_now(body: Annotated[BillNowIn, Body()]) -> object:
    """With auto-billing off: bill a selection of tonight's Ready sessions (or all of them) now, as
    a run of its own with its report (trigger ``staff:<member>``), each session once. The same
    selection again resumes that run; more sessions once it is done extend it (it bills them and
    reports again), and while it is still billing they are refused (409: try again when it is
    done). With auto-billing on, only sessions waiting for staff (served before it was turned on
    and before its backfill date; none given: all of them) may be chosen (else 409): tonight's run
    starts now with them. A session not Ready tonight is a 400. Owner or biller."""
    caller = _caller()
    caller.require("nightly:run")
    nightly = container().nightly
    run = nightly.bill_now(
        caller.practice_id, session_ids=body.session_ids, trigger=f"staff:{caller.user_id}"
    )
    current = nightly.find_run(caller.practice_id, run.run_date) or run
    return json_response(202, RunNowOut(run=_run_out(current), skipped_reason=None))


@router.get("/billing-runs", responses=answers({200: "A page of runs."}, 403))
def list_runs(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> RunPage:
    """Past runs, newest first."""
    caller = _caller()
    caller.require("nightly:read")
    runs, next_cursor = container().nightly.list_runs(caller.practice_id, limit=limit, cursor=cursor)
    return RunPage(items=[_run_out(r) for r in runs], next_cursor=next_cursor)


@router.get("/billing-runs/<run_date>", responses=answers({200: "The run."}, 403))
def get_run(run_date: RunDate) -> RunOut:
    """One run with its report and items."""
    caller = _caller()
    caller.require("nightly:read")
    try:
        day = date.fromisoformat(run_date)
    except ValueError as exc:
        raise InvalidRequestError("not a date", field="run_date") from exc
    run, items = container().nightly.get_run(caller.practice_id, day)
    return _run_out(run, items)
