"""A ``make demo`` scene of the nightly demo: a practice with auto-billing off. Three sessions are
completed today; tonight's listing shows them waiting for staff; staff bill two of them now
(``POST /nightly/bill-now``), and the run's report says two billed and one waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.demo_common import demo_clinician, utc_z
from devstack.slice import Slice, expect, poll

PRICE = 9_000
NAMES = ("Ida", "Jon", "Kim")


@dataclass
class StaffBillingResult:
    sessions: dict[str, str] = field(default_factory=dict)
    waiting_before: list[str] = field(default_factory=list)  # the listing's "will" per Ready item
    run: dict[str, Any] = field(default_factory=dict)
    waiting_after: list[str] = field(default_factory=list)  # the client names still waiting


def _completed(s: Slice, client_id: str, service_id: str, start: datetime, key: str) -> str:
    body = {
        "client_id": client_id,
        "service_id": service_id,
        "clinician_id": demo_clinician(s),
        "scheduled_start": utc_z(start),
    }
    booked = s.staff("POST", "/sessions", body, expect=(201,), headers={"Idempotency-Key": key})
    s.staff("POST", f"/sessions/{booked['id']}/check-in")
    done = {"actual_start": utc_z(start), "actual_end": utc_z(start + timedelta(minutes=50))}
    s.staff("POST", f"/sessions/{booked['id']}/complete", done)
    return str(booked["id"])


def run_staff_billing_scene(gateway_url: str, steps: Any, run_id: str, tz: str) -> StaffBillingResult:
    """Every step over HTTP on a practice of its own; raises ``SliceError`` at the first failure."""
    s = Slice(gateway_url)
    result = StaffBillingResult()
    steps.step("Auto-billing off: three sessions completed, staff bill two of them now")
    s.new_practice(f"Demo Staff Billing {run_id}", f"office.sb{run_id}@practice.example.com", tz)
    s.connect_and_onboard()
    s.staff("PUT", "/practice/billing-automation", {"auto_billing": False})
    svc = s.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90834", "unit": "session", "unit_price": PRICE},
        expect=(201,),
    )
    now = datetime.now(UTC).replace(microsecond=0, second=0)
    for n, name in enumerate(NAMES):
        client = s.create_client(name, "Demo", f"{name.lower()}.{run_id}@client.example.com")
        start = now - timedelta(hours=3 - n * 0.5)  # this afternoon, local
        result.sessions[name] = _completed(s, client["id"], svc["id"], start, f"demo-sb-{run_id}-{name}")
    listing = s.staff("GET", "/nightly/tonight")
    result.waiting_before = [i["will"] for i in listing["ready"]]
    steps.detail(f"tonight: {len(listing['ready'])} Ready, each {set(result.waiting_before)}")
    chosen = [result.sessions["Ida"], result.sessions["Jon"]]
    started = s.staff("POST", "/nightly/bill-now", {"session_ids": chosen}, expect=(202,))
    run_date = started["run"]["run_date"]

    def done() -> dict[str, Any] | None:
        status, run = s.staff_status("GET", f"/billing-runs/{run_date}")
        return run if status == 200 and run["status"] == "done" else None

    result.run = poll(done, timeout=max(s.wait, 30), what="the staff run to finish")
    report = result.run["report"]
    steps.detail(
        f"run {result.run['id']} ({result.run['trigger']}): {report['items_billed']} billed, "
        f"{report['invoices_sent']} invoices sent, {report['waiting']} waiting for staff"
    )
    expect(report["items_billed"] == 2 and report["waiting"] == 1, f"unexpected report: {report}")
    after = s.staff("GET", "/nightly/tonight")
    result.waiting_after = [i["client_name"] for i in after["ready"] if i["will"] == "waiting for staff"]
    steps.detail(f"still waiting for staff: {', '.join(result.waiting_after)}")
    return result
