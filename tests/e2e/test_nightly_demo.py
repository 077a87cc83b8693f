"""The fourth ``make demo`` scenario (the nightly run) against the running local system: the
practice's schedules, the evening summary, a waived fee, the run at the cutoff fired through the
local scheduler, its report and email, and a second firing that bills nothing; then a practice
with auto-billing off whose staff bill two of three completed sessions now, and a client on
monthly billing whose past sessions are consolidated into one invoice."""

from __future__ import annotations

import pytest
from devstack.run import Stack

from tests.e2e.conftest import STACK_GROUP

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(STACK_GROUP)]


def test_the_nightly_demo_scenario_runs_against_the_stack(stack: Stack) -> None:
    from devstack.demo_nightly import run_nightly_demo

    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text)

    result = run_nightly_demo(stack.gateway_url, say)
    report = result.run["report"]
    assert result.run["status"] == "done"
    assert report["cards_charged"] == 1 and report["invoices_sent"] == 1
    assert any(subject.startswith("Billing run") for subject in result.emails)
    assert lines[-1].startswith("\nThe nightly run works end to end")
    staff = result.staff_billing
    assert staff is not None
    assert staff.waiting_before == ["waiting for staff"] * 3
    staff_report = staff.run["report"]
    assert staff.run["trigger"].startswith("staff:")
    assert (staff_report["items_billed"], staff_report["amount_billed"], staff_report["invoices_sent"]) == (
        2,
        18_000,
        2,
    )
    assert staff_report["waiting"] == 1 and staff.waiting_after == ["Kim Demo"]
    assert sorted(i["session_id"] for i in staff.run["items"]) == sorted(
        [staff.sessions["Ida"], staff.sessions["Jon"]]
    )
    monthly = result.monthly
    assert monthly is not None
    first, second, today = monthly.sessions
    assert monthly.will[first] == monthly.will[second] == "consolidated tonight, charged"
    assert monthly.will[today].startswith("consolidated on the ")
    (item,) = monthly.run["items"]
    assert item["sessions"] == [first, second] and item["outcome"] == "charged"
    assert (monthly.invoice["kind"], monthly.invoice["status"], monthly.invoice["total"]) == (
        "monthly",
        "paid",
        22_000,
    )
    assert monthly.run["report"]["later"] == 1
