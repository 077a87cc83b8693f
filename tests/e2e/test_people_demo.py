"""The ``make demo`` scenario of a practice's people against the running local system: a practice
signs up, its owner signs in from the invitation in the local mailbox, invites a biller who signs
in the same way and works, is refused what only an owner may do, acts as front desk from the very
request after the owner changed their role and is refused once removed; the owner reads the audit
trail as JSON and CSV. Each step's outcome is asserted, not just that the demo finished."""

from __future__ import annotations

import csv
import io

import pytest
from devstack.run import Stack

from tests.e2e.conftest import STACK_GROUP

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(STACK_GROUP)]


def test_the_people_demo_scenario_runs_against_the_stack(stack: Stack) -> None:
    from devstack.demo_people import BILLER_NAME, CASH, DIAGNOSES, OWNER_NAME, run_people_demo

    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text)

    r = run_people_demo(stack.gateway_url, say)
    owner, biller = r.owner, r.biller
    assert owner is not None and biller is not None

    # Sign-up and the owner's first sign-in, from the invitation in the mailbox.
    assert r.signup[0] == 202
    assert r.owner_invitation["to"] == [owner.email]
    assert r.owner_invitation["subject"] == f"You're invited to {r.practice_name} on Therabill"
    assert f"{r.practice_name} has invited you to Therabill as an owner" in r.owner_invitation["text"]
    assert r.first_sign_in[0] == 409 and r.first_sign_in[1]["code"] == "new_password_required"
    assert owner.claims["custom:role"] == "owner" and owner.staff_id.startswith("stf_")
    assert owner.claims["custom:practice_id"] == r.practice["id"]
    assert (r.practice["name"], r.practice["time_zone"]) == (r.practice_name, "America/Chicago")

    # The biller: invited, their own invitation, signed in as a biller of the same practice.
    assert (r.invited["email"], r.invited["role"], r.invited["status"]) == (biller.email, "biller", "invited")
    assert r.biller_invitation["to"] == [biller.email]
    assert f"{r.practice_name} has invited you to Therabill as a biller" in r.biller_invitation["text"]
    assert biller.staff_id == r.invited["id"]
    assert (
        biller.claims["custom:practice_id"] == r.practice["id"] and biller.claims["custom:role"] == "biller"
    )
    assert [(m["name"], m["role"], m["status"]) for m in r.staff] == [
        (OWNER_NAME, "owner", "active"),
        (BILLER_NAME, "biller", "active"),
    ]

    # The biller works, and is refused an owner's page.
    assert r.client_as_biller["id"] == r.client["id"] and r.client_as_biller["diagnoses"] == DIAGNOSES
    assert (r.cash["amount"], r.cash["currency"], r.cash["method"]) == (CASH, "usd", "cash")
    assert r.owner_only[0] == 403 and r.owner_only[1]["details"]["permission"] == "audit:read"

    # The role change holds from the very next request; the removal too.
    assert r.demoted["role"] == "front_desk"
    assert r.as_front_desk[0] == 403
    assert r.as_front_desk[1]["details"]["permission"] == "diagnoses:write"
    assert "front_desk" in r.as_front_desk[1]["message"]
    assert r.front_desk_read[0] == 200
    assert r.removed == 204
    assert r.after_removal[0] == 401 and r.after_removal[1]["code"] == "unauthorized"
    assert r.sign_in_after_removal[0] == 401

    # The audit trail: who did what to which ids, oldest first; nothing of the health information.
    staff_changes = [
        (a["action"], a["staff_id"], a["member_id"]) for a in r.audit if a["action"].startswith("staff.")
    ]
    assert staff_changes == [  # who may act: the biller invited, demoted, removed, by the owner
        ("staff.invite", owner.staff_id, biller.staff_id),
        ("staff.change", owner.staff_id, biller.staff_id),
        ("staff.remove", owner.staff_id, biller.staff_id),
    ]
    health = [a for a in r.audit if not a["action"].startswith("staff.")]
    trail = [(a["staff_id"], a["role"], a["action"], a["client_id"], a["amount"]) for a in health]
    client_id = r.client["id"]
    assert trail == [
        (owner.staff_id, "owner", "client.diagnoses.change", client_id, None),
        (biller.staff_id, "biller", "client.diagnoses.read", client_id, None),
        (biller.staff_id, "biller", "payment.manual", client_id, CASH),
        (biller.staff_id, "front_desk", "client.diagnoses.read", client_id, None),
    ]
    assert health[2]["entry_id"] == r.cash["entry_id"]
    assert {a["user_agent"] for a in r.audit} == {"demo (owner)", "demo (biller)"}
    assert [a["id"] for a in r.biller_audit] == [a["id"] for a in health[1:]]
    assert not any(code in str(r.audit) or code in r.audit_csv for code in DIAGNOSES)
    rows = list(csv.DictReader(io.StringIO(r.audit_csv)))
    assert [row["id"] for row in rows] == [a["id"] for a in r.audit]
    (cash_row,) = [row for row in rows if row["action"] == "payment.manual"]
    assert (cash_row["amount"], cash_row["currency"]) == ("25.00", "usd")

    # What the demo printed, in plain words.
    text = "\n".join(lines)
    assert "USD 25.00 cash" in text and "USD 25.00  cli_" in text
    assert "403 forbidden: the front_desk role may not do this (diagnoses:write)" in text
    assert "id,at,staff_id,role,action,client_id" in text
    assert lines[-1].startswith("\nSign-up, staff and the audit trail work end to end")
