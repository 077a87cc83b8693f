"""A ``make demo`` scene of the nightly demo: a client on monthly billing. The practice bills
nightly; Mae's own cadence is monthly, and the practice's billing day is today. Mae had two
sessions last week and one today: tonight's listing says the two are consolidated tonight and
today's waits for next month's billing day; the run at the cutoff charges Mae's card once for one
invoice of two lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devstack.demo_common import completed_session, fire_schedule
from devstack.slice import CARD_VISA, Slice, expect, poll

PRICE = 11_000


@dataclass
class MonthlyResult:
    sessions: list[str] = field(default_factory=list)  # last week's two, then today's
    will: dict[str, str] = field(default_factory=dict)  # tonight's listing: session → what happens
    run: dict[str, Any] = field(default_factory=dict)
    invoice: dict[str, Any] = field(default_factory=dict)


def run_monthly_scene(gateway_url: str, steps: Any, run_id: str, tz: str) -> MonthlyResult:
    """Every step over HTTP on a practice of its own; raises ``SliceError`` at the first failure."""
    s = Slice(gateway_url)
    result = MonthlyResult()
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    steps.step(f"A client on monthly billing: the practice's billing day is today (the {today.day})")
    practice = s.new_practice(f"Demo Monthly {run_id}", f"office.m{run_id}@practice.example.com", tz)
    s.connect_and_onboard()
    s.staff("PUT", "/practice/billing-automation", {"monthly_billing_day": today.day})
    svc = s.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90834", "unit": "session", "unit_price": PRICE},
        expect=(201,),
    )
    mae = s.create_client("Mae", "Demo", f"mae.{run_id}@client.example.com")
    s.save_card(mae["id"], CARD_VISA, signer_name="Mae Demo")
    s.staff("PUT", f"/clients/{mae['id']}/billing-cadence", {"cadence": "monthly"})
    for n, ago in enumerate((timedelta(days=8, hours=2), timedelta(days=6, hours=2), timedelta(hours=2))):
        session = completed_session(s, mae["id"], svc["id"], key=f"demo-m-{run_id}-{n}", minutes=50, ago=ago)
        result.sessions.append(str(session["id"]))
    listing = s.staff("GET", "/nightly/tonight")
    result.will = {i["session_id"]: i["will"] for i in listing["ready"]}
    for sid in result.sessions:
        steps.detail(f"  {sid}: {result.will.get(sid)}")
    fire_schedule(s, f"nightly-run-{practice['id']}")
    run_date = listing["run_date"]

    def done() -> dict[str, Any] | None:
        status, run = s.staff_status("GET", f"/billing-runs/{run_date}")
        return run if status == 200 and run["status"] == "done" else None

    result.run = poll(done, timeout=max(s.wait, 30), what="the run to finish")
    items = result.run["items"]
    expect(len(items) == 1 and len(items[0]["invoice_ids"]) == 1, f"expected one consolidation: {items}")
    result.invoice = dict(s.staff("GET", f"/invoices/{items[0]['invoice_ids'][0]}"))
    inv = result.invoice
    later = result.run["report"]["later"]
    steps.detail(
        f"run {result.run['id']}: one {inv['kind']} invoice {inv['number']} of {len(inv['lines'])} lines, "
        f"{inv['status']} ({items[0]['outcome']}); {later} session waits for next month"
    )
    return result
