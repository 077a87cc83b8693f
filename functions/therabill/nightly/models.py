"""The nightly run's decisions, pure: no I/O, no clock. The dry run (the evening summary, the
Ready / Incomplete listing) and the real run call the same functions on the same facts, so what
staff are shown is what the run does.

(The dates of a run and the holiday calendar's decisions are ``nightly.nights``.)

* ``assess``: one session's facts → Ready (with the action: charge the card or send the invoice),
  Incomplete (every reason that holds), Skipped ($0, not billed) or Held.
* ``build_report``: the run's items → the report's totals.

Also the values the nightly modules hand each other: a run (``NightRun``) and what finishes a
billed item (``Finish``); tonight's listing is ``nightly.listing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from therabill.core.cadence import ordinal
from therabill.core.writes import Write

DEFAULT_SUMMARY_HOURS_BEFORE = 3
LOOKBACK_DAYS = 14  # candidates are read over this many local days (the S7 day index)
BATCH_SIZE = 25  # items per SQS message of the fan-out

ItemState = Literal["ready", "incomplete", "skipped", "held"]
ItemAction = Literal["charge", "send", "claim", "none"]
ItemOutcome = Literal["charged", "sent", "pending", "claimed", "nothing_to_bill", "failed", "held"]
RunStatus = Literal["planning", "running", "reporting", "done"]

# Reasons (stable codes, with the words staff read).
REASONS: dict[str, str] = {
    "missing_price": "missing price",
    "missing_cpt_code": "missing CPT code",
    "claims_not_set_up": "claims not set up",
    "insurance_setup_incomplete": "insurance set-up not complete",
    "missing_provider_taxonomy": "missing provider taxonomy",
    "insurance_not_migrated": "the client's insurance is not yet moved to coverage",
    "missing_diagnosis": "missing diagnosis",
    "authorization_missing": "no authorization (the payer requires one)",
    "authorization_expired": "authorization expired (none covers the date of service)",
    "authorization_used_up": "authorization used up",
    "unsigned_note": "note not signed",
    "awaiting_supervisor_approval": "awaiting supervisor approval",
    "provider_setup_incomplete": "provider set-up incomplete (the practice cannot take payments yet)",
    "no_email_or_card": "no card on file that may be charged and no email address to send the invoice to",
    "zero_amount": "$0 session",
    "not_billed": "client not billed",
    "held": "held by staff until tomorrow",
}


def run_id(practice_id: str, run_date: date) -> str:
    return f"run:{practice_id}:{run_date.isoformat()}"


# -- one session's facts → its state ----------------------------------------------------------------
@dataclass(frozen=True)
class ItemFacts:
    """Everything the decision needs about one candidate session, read by the service."""

    session_id: str
    client_id: str
    client_name: str
    status: str  # completed | no_show
    service_date: date  # local
    currency: str
    session_amount: int | None  # the price snapshot (None: no price); no-shows: 0
    not_billed: bool
    cpt_code: str | None
    copay_balance: int  # a copay left open (status due / balance)
    fee_balance: int  # a cancellation / no-show fee left open (status due / balance)
    insured: bool
    practice_can_charge: bool
    card_chargeable: bool  # a default card whose consent covers this charge
    payer_email: bool
    held: bool = False
    claims_enabled: bool = False  # a claims port is wired (the insurance capability)
    # Documentation state (never its content).
    has_diagnosis: bool = True  # the session's ICD-10-CM codes, else the client's (always read)
    note_required: bool = False  # the practice bills only signed notes
    note_signed: bool = False
    supervised: bool = False  # the clinician has a supervisor now
    supervisor_approved: bool = False
    unmigrated_insurance: bool = False  # the client item predates coverage (see clients.models)
    authorization: str | None = None  # what the payer's required authorization lacks (a REASONS code)
    # Provider set-up a claim needs (read for insured sessions).
    has_billing_provider: bool = True  # the practice's billing provider is set up
    has_rendering_npi: bool = True  # the session's clinician's provider record has an NPI
    has_taxonomy: bool = True  # ... and a taxonomy
    autopay: bool = True  # the client's AutoPay (their own choice, else the practice's default)
    at_completion: bool = False  # the client's cadence: billed within minutes of becoming Ready
    # The client's cadence is monthly: the billing date that consolidates this session (None: not monthly).
    monthly_on: date | None = None
    # Split billing: each billing party's part as (name, their card charged); empty: the client's.
    payers: tuple[tuple[str, bool], ...] = ()
    # Served before auto-billing was turned on: the next run's backfill, or left for staff.
    before_auto: Literal["backfill", "staff"] | None = None


@dataclass(frozen=True)
class Assessment:
    session_id: str
    state: ItemState
    action: ItemAction
    amount: int  # what tonight's run bills (0 unless ready)
    reasons: tuple[str, ...] = field(default_factory=tuple)  # codes of REASONS

    @property
    def reason_texts(self) -> list[str]:
        return [REASONS[r] for r in self.reasons]


def billable_amount(f: ItemFacts) -> int:
    session = 0 if f.not_billed else (f.session_amount or 0)
    return session + f.copay_balance + f.fee_balance


def _blocking(f: ItemFacts) -> list[str]:
    """What the claim, the client's record or the documentation still lacks."""
    checks = (
        ("insurance_not_migrated", f.unmigrated_insurance),
        ("claims_not_set_up", f.insured and not f.claims_enabled),
        ("insurance_setup_incomplete", f.insured and not (f.has_billing_provider and f.has_rendering_npi)),
        ("missing_provider_taxonomy", f.insured and not f.has_taxonomy),
        ("missing_cpt_code", f.insured and not f.cpt_code),
        ("missing_diagnosis", f.insured and not f.has_diagnosis),
        (f.authorization or "", f.insured and f.authorization is not None),
        ("unsigned_note", f.status == "completed" and f.note_required and not f.note_signed),
        (
            "awaiting_supervisor_approval",
            f.status == "completed" and f.supervised and not f.supervisor_approved,
        ),
    )
    return [reason for reason, holds in checks if holds]


def assess(f: ItemFacts) -> Assessment:
    """Ready / Incomplete (every reason that holds) / Skipped / Held; the same for dry and real runs.

    Insured sessions are claims (the client owes only their copay, taken at check-in; the rest is
    the claim's): Incomplete ("claims not set up") until a claims port is wired, then Ready with
    the action ``claim`` (a CPT code and a diagnosis required). A completed session also waits
    for its signed note (when the practice requires one) and, when its clinician is supervised,
    for the supervisor's approval."""
    amount = billable_amount(f)
    blocking = _blocking(f)
    if f.status == "completed" and f.session_amount is None and not f.not_billed:
        return Assessment(f.session_id, "incomplete", "none", 0, ("missing_price", *blocking))
    if amount <= 0:
        return Assessment(
            f.session_id, "skipped", "none", 0, ("not_billed",) if f.not_billed else ("zero_amount",)
        )
    reasons: list[str] = list(blocking)
    charge = f.practice_can_charge and f.card_chargeable and f.autopay
    if not f.insured and not charge and not f.payer_email:
        reasons.append("no_email_or_card")
    if not f.insured and not f.practice_can_charge and not f.payer_email:
        reasons.append("provider_setup_incomplete")
    if reasons:
        return Assessment(f.session_id, "incomplete", "claim" if f.insured else "none", 0, tuple(reasons))
    if f.held:
        return Assessment(f.session_id, "held", "none", 0, ("held",))
    if f.insured:
        return Assessment(f.session_id, "ready", "claim", amount)
    return Assessment(f.session_id, "ready", "charge" if charge else "send", amount)


# What a Ready item's action does, in the listing's and the evening summary's words.
WILL: dict[str, str] = {"charge": "charged now", "send": "sent", "claim": "claim submitted"}
AT_COMPLETION = "billed at completion"
NO_RUN_TONIGHT = "no run tonight (holiday): billed by the next run"
_NOT_READY: dict[str, str] = {
    "held": "held until tomorrow",
    "incomplete": "left out",
    "skipped": "not billed",
}
# What tonight does with a Ready item: bill it (``bill``), leave it to staff (``staff``: auto-billing
# off, or served before it was turned on and not backfilled), bill it at completion (``at_completion``:
# the run bills it at the cutoff if still unbilled), or, for a monthly client, consolidate it
# tonight (``consolidate``: its billing date has come) or on its billing date (``later``).
Disposition = Literal["bill", "staff", "at_completion", "consolidate", "later"]
IN_RUN: frozenset[Disposition] = frozenset({"bill", "at_completion", "consolidate"})


def disposition(f: ItemFacts, a: Assessment, *, run_date: date, auto_billing: bool) -> Disposition | None:
    """What the run of ``run_date`` does with a Ready item (None: not Ready). The one rule the
    planner, tonight's listing and the evening summary share."""
    if a.state != "ready":
        return None
    if not auto_billing or f.before_auto == "staff":
        return "staff"
    self_pay = a.action in ("charge", "send")
    if self_pay and f.monthly_on is not None:
        return "consolidate" if f.monthly_on <= run_date else "later"
    if self_pay and f.at_completion:
        return "at_completion"
    return "bill"


def will_happen(  # noqa: PLR0911 - one return per disposition, read top to bottom
    f: ItemFacts, a: Assessment, *, run_date: date, auto_billing: bool = True
) -> str:
    """What tonight does with an item, in staff's words: a Ready one is charged now, sent or claimed
    at the cutoff; waits for staff; is billed at completion; or, for a monthly client, is
    consolidated tonight (charged or sent) or on its billing date ("consolidated on the 1st")."""
    what = disposition(f, a, run_date=run_date, auto_billing=auto_billing)
    if what is None:
        return _NOT_READY[a.state]
    if what == "staff":
        return "waiting for staff"
    if what == "at_completion":
        return AT_COMPLETION
    if what == "consolidate":
        return f"consolidated tonight, {_parties(f) or WILL[a.action].removesuffix(' now')}"
    if what == "later" and f.monthly_on is not None:
        return f"consolidated on the {ordinal(f.monthly_on.day)} ({f.monthly_on.isoformat()})"
    if a.action in ("charge", "send") and f.payers:
        return _parties(f).replace("charged", "charged now")
    return WILL.get(a.action, "billed")


def _parties(f: ItemFacts) -> str:
    """Split billing: "charged (Mia Parent), sent (Dan Parent)"; else empty."""
    return ", ".join(f"{'charged' if charged else 'sent'} ({name})" for name, charged in f.payers)


# -- the run and its report -------------------------------------------------------------------------
class RunItem(BaseModel):
    """One item of a run: planned pending, then done with its outcome."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    session_id: str
    client_id: str
    amount: int
    action: ItemAction
    status: Literal["pending", "done"] = "pending"
    outcome: ItemOutcome | None = None
    billed: int = 0
    charged: int = 0
    invoice_ids: tuple[str, ...] = ()
    payment_ids: tuple[str, ...] = ()
    problem: str | None = None
    # A monthly client's consolidation: every session it bills (``session_id`` is the first); one
    # invoice per billing party. Empty: the item bills its one session.
    sessions: tuple[str, ...] = ()

    @property
    def session_ids(self) -> tuple[str, ...]:
        return self.sessions or (self.session_id,)


class Report(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    items_billed: int
    amount_billed: int
    cards_charged: int
    amount_charged: int
    invoices_sent: int
    claims_submitted: int = 0
    pending: int
    failures: list[dict[str, str]]
    held: list[str]
    incomplete: int
    skipped: int
    waiting: int = 0  # Ready items a staff run left for staff (auto-billing off)
    later: int = 0  # Ready items of monthly clients whose billing date has not come
    invoices_consolidated: int = 0  # monthly clients' invoices, each billing several sessions


def build_report(
    items: Sequence[RunItem],
    *,
    held: Sequence[str],
    incomplete: int,
    skipped: int,
    waiting: int = 0,
    later: int = 0,
) -> Report:
    """The run's totals; ``items_billed`` counts sessions (a consolidation counts each it bills)."""
    done = [i for i in items if i.status == "done"]
    billed = [i for i in done if i.outcome in ("charged", "sent", "pending", "claimed")]
    return Report(
        items_billed=sum(len(i.session_ids) for i in billed),
        amount_billed=sum(i.billed for i in billed),
        cards_charged=sum(1 for i in done if i.outcome == "charged"),
        amount_charged=sum(i.charged for i in done),
        invoices_sent=sum(1 for i in done if i.outcome == "sent"),
        claims_submitted=sum(1 for i in done if i.outcome == "claimed"),
        pending=sum(1 for i in done if i.outcome == "pending"),
        failures=[
            {"session_id": i.session_id, "reason": i.problem or "failed"}
            for i in done
            if i.outcome == "failed"
        ],
        held=sorted(held),
        incomplete=incomplete,
        skipped=skipped,
        waiting=waiting,
        later=later,
        invoices_consolidated=sum(len(i.invoice_ids) for i in billed if i.sessions),
    )


def batches(ids: Sequence[str], size: int = BATCH_SIZE) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


# -- the values the nightly modules share -----------------------------------------------------------
@dataclass(frozen=True)
class NightRun:
    id: str
    practice_id: str
    run_date: date
    status: RunStatus
    trigger: str
    started_at: datetime
    planned: int
    finished: int
    moved_from: tuple[str, ...]
    report: Report | None
    finished_at: datetime | None
    # What planning left out (the report's counts).
    held: tuple[str, ...] = ()
    incomplete: int = 0
    skipped: int = 0
    # A staff run (auto-billing off): the sessions staff chose (None: every Ready one), and how
    # many Ready items it left waiting for staff.
    selection: tuple[str, ...] | None = None
    waiting: int = 0
    later: int = 0  # Ready items of monthly clients left for their billing date
    extended: int = 0  # how many times staff had the done run bill more (each: its report again)
    # What the business metrics counted of its report when it was last extended (billed, failed,
    # incomplete): each finish counts only what is new.
    counted: tuple[int, int, int] = (0, 0, 0)

    @property
    def report_key(self) -> str:
        """The report email's once-key: one per finish (the run, then each extension)."""
        return f"nightly-report:{self.id}" + (f":{self.extended}" if self.extended else "")


@dataclass(frozen=True)
class OpenRun:
    """A run not yet done, as the sweep sees it (oldest first)."""

    practice_id: str
    run_date: str
    started_at: datetime

    @property
    def run_id(self) -> str:
        return run_id(self.practice_id, date.fromisoformat(self.run_date))


@dataclass(frozen=True)
class Finish:
    """What finishes a billed item together with its done mark: the session's billing record
    (None: recorded already, or nothing to record) and the removal of its to-do item (or, for a
    monthly consolidation, those of each of its sessions)."""

    record: Write | None
    to_do: Write | None
    consolidated: tuple[Write, ...] = ()  # a consolidation's: each session's record and to-do

    def writes(self) -> list[Write]:
        return [w for w in (self.record, self.to_do, *self.consolidated) if w is not None]
