"""The ``make demo`` scenario of the nightly run, over HTTP against the running local system.

1. a practice (cutoff 23:00 in America/New_York) with a no-show fee; creating it made its two
   schedules in the emulated EventBridge Scheduler (the run at the cutoff, the evening summary
   three hours before), in the practice's own time zone;
2. today's sessions: Ada (card on file) and Bea (no card) completed, Cal (not billed: a 0 price
   rule) completed, Eve a no-show whose fee stayed open (no card);
3. the evening summary: its schedule fires (the email) and ``GET /nightly/summary`` shows exactly
   what tonight's run will do (a dry run of the same code);
4. a clinician waives Eve's fee before the cutoff: the summary drops it;
5. the run at the cutoff: the practice's run schedule fires; nightly-dispatch starts the run once,
   the nightly-worker bills the items from SQS: Ada's card is charged, Bea is sent an invoice;
6. the run report (stored and emailed once); firing the schedule again changes nothing;
7. a practice with auto-billing off: staff bill two of three completed sessions now
   (``demo_staff_billing``);
8. a client on monthly billing: last week's two sessions consolidated into one invoice at the
   billing day's cutoff, today's left for next month (``demo_monthly``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devstack.demo_common import demo_clinician, fire_schedule, utc_z
from devstack.demo_monthly import MonthlyResult, run_monthly_scene
from devstack.demo_staff_billing import StaffBillingResult, run_staff_billing_scene
from devstack.money_text import money
from devstack.slice import CARD_VISA, Slice, expect, poll

ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/London",
    "America/Sao_Paulo",
)
PRICE = 12_000
NO_SHOW_FEE = 4_000


@dataclass
class NightlyDemoResult:
    practice: dict[str, Any] = field(default_factory=dict)
    schedules: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    after_waiver: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    staff_billing: StaffBillingResult | None = None
    monthly: MonthlyResult | None = None
    seconds: float = 0.0


def _session(s: Slice, client_id: str, service_id: str, start: datetime, key: str, *, no_show: bool) -> str:
    body = {
        "client_id": client_id,
        "service_id": service_id,
        "clinician_id": demo_clinician(s),
        "scheduled_start": utc_z(start),
    }
    booked = s.staff("POST", "/sessions", body, expect=(201,), headers={"Idempotency-Key": key})
    if no_show:
        s.staff("POST", f"/sessions/{booked['id']}/no-show")
        return str(booked["id"])
    s.staff("POST", f"/sessions/{booked['id']}/check-in")
    end = start + timedelta(minutes=50)
    s.staff(
        "POST", f"/sessions/{booked['id']}/complete", {"actual_start": utc_z(start), "actual_end": utc_z(end)}
    )
    return str(booked["id"])


def zone_before_cutoff(now: datetime) -> str:
    """A time zone where it is now afternoon (13:00-20:59), so the demo's sessions are today's and
    holds and waivers are still open before the 23:00 cutoff, whenever the demo is run."""
    for name in ZONES:
        if 13 <= now.astimezone(ZoneInfo(name)).hour <= 20:
            return name
    return "America/New_York"


def _listing_lines(listing: dict[str, Any]) -> list[str]:
    lines = []
    for state in ("ready", "held", "incomplete", "skipped"):
        for item in listing[state]:
            what = item["action"] if state == "ready" else state
            why = f"  ({', '.join(item['reason_texts'])})" if item["reason_texts"] else ""
            lines.append(f"  {item['client_name']:<12} {what:<10} {money(item['amount']):>12}{why}")
    t = listing["totals"]
    lines.append(
        f"  → {t['to_charge']} card(s) to charge ({money(t['to_charge_amount'])}), "
        f"{t['to_send']} invoice(s) to send ({money(t['to_send_amount'])})"
    )
    return lines


def run_nightly_demo(gateway_url: str, say: Any = print, *, run_id: str | None = None) -> NightlyDemoResult:
    """Every step over HTTP; raises :class:`SliceError` at the first failure."""
    from devstack.demo import _Steps

    run_id = run_id or uuid.uuid4().hex[:8]
    steps = _Steps(say)
    s = Slice(gateway_url)
    result = NightlyDemoResult()
    started = time.monotonic()

    tz = zone_before_cutoff(datetime.now(UTC))
    steps.step(f"The nightly run: a practice with a no-show fee (cutoff 23:00, {tz})")
    result.practice = s.new_practice(f"Demo Nightly {run_id}", f"office.n{run_id}@practice.example.com", tz)
    s.connect_and_onboard()
    s.staff(
        "PUT",
        "/practice/cancellation-policy",
        {"no_show_fee": {"kind": "flat", "amount": {"amount": NO_SHOW_FEE, "currency": "usd"}}},
    )
    practice_id = result.practice["id"]
    result.schedules = [f"nightly-run-{practice_id}", f"nightly-summary-{practice_id}"]
    settings = s.staff("GET", "/nightly/settings")
    steps.detail(
        f"schedules {', '.join(result.schedules)}: cron(0 {settings['cutoff_hour']} * * ? *) and the "
        f"summary {settings['summary_hours_before']} h before, in {settings['time_zone']}"
    )

    steps.step("Today's sessions: Ada (card) and Bea (no card) completed, Cal not billed, Eve a no-show")
    svc = s.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": PRICE},
        expect=(201,),
    )
    now = datetime.now(UTC).replace(microsecond=0, second=0)
    clients = {}
    for name in ("Ada", "Bea", "Cal", "Eve"):
        clients[name] = s.create_client(name, "Demo", f"{name.lower()}.{run_id}@client.example.com")["id"]
    s.save_card(clients["Ada"], CARD_VISA, signer_name="Ada Demo")
    s.staff("PUT", f"/clients/{clients['Cal']}/pricing/{svc['id']}", {"kind": "fixed", "amount": 0})
    for n, name in enumerate(("Ada", "Bea", "Cal", "Eve")):
        start = now - timedelta(hours=4 - n * 0.5)  # this afternoon, local
        result.sessions[name] = _session(
            s, clients[name], svc["id"], start, f"demo-n-{run_id}-{name}", no_show=name == "Eve"
        )
    steps.detail(", ".join(f"{k}: {v}" for k, v in result.sessions.items()))

    steps.step("The evening summary: its schedule fires (email), GET /nightly/summary (a dry run)")
    fire_schedule(s, f"nightly-summary-{practice_id}")
    mail = s.wait_for_email(result.practice["email"], "Tonight's billing run")
    result.emails.append(mail["subject"])
    result.summary = dict(s.staff("GET", "/nightly/summary"))
    steps.detail(f"email: {mail['subject']}\n" + "\n".join(_listing_lines(result.summary)))
    expect(result.summary["totals"]["ready"] == 3, f"expected 3 ready items: {result.summary['totals']}")

    steps.step("A clinician waives Eve's no-show fee before the cutoff")
    clinician = s.mint_token(practice_id, role="clinician")
    s.staff("POST", f"/nightly/items/{result.sessions['Eve']}/waive-fee", token=clinician)
    result.after_waiver = dict(s.staff("GET", "/nightly/summary"))
    steps.detail("\n".join(_listing_lines(result.after_waiver)))
    expect(result.after_waiver["totals"]["ready"] == 2, "the waived fee is still in tonight's run")

    steps.step("The run at the cutoff: the practice's run schedule fires → nightly-dispatch → SQS → worker")
    fire_schedule(s, f"nightly-run-{practice_id}")
    run_date = result.after_waiver["run_date"]

    def done() -> dict[str, Any] | None:
        status, run = s.staff_status("GET", f"/billing-runs/{run_date}")
        return run if status == 200 and run["status"] == "done" else None

    result.run = poll(done, timeout=max(s.wait, 30), what="the run to finish")
    report = result.run["report"]
    for item in result.run["items"]:
        steps.detail(
            f"  {item['session_id']}: {item['outcome']} {money(item['billed'])} "
            f"(invoices {item['invoice_ids']})"
        )
    steps.detail(
        f"report: {report['items_billed']} billed ({money(report['amount_billed'])}), "
        f"{report['cards_charged']} card charged ({money(report['amount_charged'])}), "
        f"{report['invoices_sent']} invoice sent, {report['incomplete']} incomplete, "
        f"{report['skipped']} skipped"
    )
    expect(report["cards_charged"] == 1 and report["invoices_sent"] == 1, f"unexpected report: {report}")
    mail = s.wait_for_email(result.practice["email"], "Billing run")
    result.emails.append(mail["subject"])
    steps.detail(f"email: {mail['subject']}")

    steps.step("The schedule fires again (a retry, a DST repeat): the run resumes, nothing is billed twice")
    fire_schedule(s, f"nightly-run-{practice_id}")
    time.sleep(2)
    again = s.staff("GET", f"/billing-runs/{run_date}")
    expect(again["report"] == report, "the report changed on a second firing")
    runs = s.staff("GET", "/billing-runs")
    steps.detail(f"runs: {[r['id'] for r in runs['items']]}")
    result.staff_billing = run_staff_billing_scene(gateway_url, steps, run_id, tz)
    result.monthly = run_monthly_scene(gateway_url, steps, run_id, tz)
    result.seconds = time.monotonic() - started
    say(f"\nThe nightly run works end to end ({result.seconds:.1f}s).")
    return result
