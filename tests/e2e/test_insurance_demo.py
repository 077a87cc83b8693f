"""The ``make demo`` scenario of insurance against the running local system and its sandbox
clearinghouse: the provider set-up, the sandbox payer accepted and enrolled (the status moving on
as the sandbox moves it), a coverage with the sandbox's $25 copay member and its eligibility check,
a card picture, an authorization of one visit and a booking past it warned and booked as self-pay
instead, the insured session billed its copay only and waiting for claims. Each step's outcome is
asserted, not just that the demo finished."""

from __future__ import annotations

import pytest
from devstack.run import Stack

from tests.e2e.conftest import STACK_GROUP

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(STACK_GROUP)]


def test_the_insurance_demo_scenario_runs_against_the_stack(stack: Stack) -> None:
    from devstack.demo_insurance import BILLING_NPI, MEMBER_ID, RENDERING_NPI, run_insurance_demo

    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text)

    r = run_insurance_demo(stack.gateway_url, say)

    # The provider set-up: the tax id shown as an EIN is shown in full, the taxonomy by name.
    bp = r.billing_provider
    assert (bp["npi"], bp["tax_id"], bp["version"]) == (
        BILLING_NPI,
        {"kind": "ein", "masked": "12-3456789"},
        1,
    )
    assert bp["taxonomy"]["name"] == "Single Specialty Group"
    rec = r.clinician_record
    assert (rec["rendering_npi"], rec["taxonomy"]["code"], rec["credentials"]) == (
        RENDERING_NPI,
        "101YM0800X",
        ["LPC"],
    )

    # The directory's search by name; Sandbox Health Plan takes 270s, claims and claim status from
    # anyone and wants an enrollment for remittance only.
    assert [p["id"] for p in r.search] == ["SBXHP"]
    assert r.accepted["payer"]["payer_id"] == "SBX01"
    assert [(e["transaction"], e["status"]) for e in r.accepted["enrollments"]] == [
        ("eligibility", "not_required"),
        ("claims", "not_required"),
        ("claim_status", "not_required"),
        ("remittance", "not_started"),
    ]
    assert r.claims_enrollment[0] == 409 and r.claims_enrollment[1]["details"]["reason"] == "not_required"
    assert r.enrollment["clearinghouse_id"]
    assert r.enrollment_statuses == ["submitted", "provisioning", "live"]  # one step a read

    # The coverage, its card picture and its eligibility: the 271's $25 in-network copay becomes
    # the coverage's (no staff copay was set).
    assert (r.coverage["member_id"], r.coverage["payer"]["id"], r.coverage["rank"]) == (
        MEMBER_ID,
        "SBX01",
        "primary",
    )
    assert r.card_upload == 204 and [p["side"] for p in r.card_pictures] == ["front"]
    assert r.card_pictures[0]["content_type"] == "image/png" and r.card_pictures[0]["size"] == 70
    check = r.eligibility["check"]
    assert (check["status"], check["plan_name"], check["network"]) == ("active", "SANDBOX PPO", "in_network")
    mental_health = next(s for s in check["services"] if s["service_type"] == "MH")
    assert [(c["network"], c["amount"]) for c in mental_health["copays"]] == [("in", 2500)]
    assert mental_health["coinsurance"] == [] and mental_health["deductibles"] == []
    assert mental_health["visit_limits"] == []
    assert r.eligibility["coverage"] == {"copay_found": 2500, "copay_override": None, "copay_amount": 2500}

    # One visit authorized; the first booking takes it, the second is warned, then booked self-pay.
    assert (r.authorization["authorized"], r.authorization["used"], r.authorization["remaining"]) == (1, 0, 1)
    assert r.insured["status"] == "booked" and r.insured["authorization_warning"] is None
    assert r.warned["status"] == "booked"
    assert r.warned["authorization_warning"]["code"] == "authorization_used_up"
    assert r.cancelled["status"] == "cancelled"
    assert (r.cancelled["fee"]["amount"], r.cancelled["fee"]["reason"]) == (0, "practice_cancelled")
    assert (r.self_pay["billing"], r.self_pay["authorization_warning"]) == ("self_pay", None)
    assert r.self_pay["status"] == "booked"

    # The insured session: the $25 copay charged at check-in, the $150 price not the client's;
    # completing it used the one visit.
    assert (r.checked_in["copay"]["amount"], r.checked_in["copay"]["status"]) == (2500, "charged")
    assert r.completed["status"] == "completed"
    assert (r.authorization_after["used"], r.authorization_after["remaining"]) == (1, 0)
    entries = [(e["kind"], e["signed_amount"]) for e in r.ledger["entries"]]
    assert entries == [("charge", 2500), ("payment", -2500)]
    assert r.ledger["balance"] == 0

    # Tonight: the insured session waits for claims, and nothing else holds it.
    (item,) = r.tonight["incomplete"]
    assert item["session_id"] == r.insured["id"]
    assert (item["reasons"], item["reason_texts"]) == (["claims_not_set_up"], ["claims not set up"])
    assert r.tonight["ready"] == []

    text = "\n".join(lines)
    assert "copay: USD 25.00 a visit in network" in text
    assert "visits: no visit limit stated" in text
    assert "authorization: 1 of 1 used, 0 left" in text
    assert f"{r.insured['id']} Maya Insured: incomplete (claims not set up)" in text
    assert lines[-1].startswith("\nInsurance works end to end")
