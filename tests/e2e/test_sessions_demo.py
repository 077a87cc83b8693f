"""The second ``make demo`` scenario (sessions and their money) against the running local system:
a deposit paid on the booking page confirms the booking, a copay at check-in, a per-minute session
that consumes the deposit credit, a late cancellation charged by policy, a refund, the ledger."""

from __future__ import annotations

import pytest
from devstack.run import Stack

from tests.e2e.conftest import STACK_GROUP

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(STACK_GROUP)]


def test_the_sessions_demo_scenario_runs_against_the_stack(stack: Stack) -> None:
    from devstack.demo_sessions import COPAY, DEPOSIT_FLAT, PER_MINUTE_CENTS, run_sessions_demo

    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        print(text)

    result = run_sessions_demo(stack.gateway_url, say)
    assert result.booked["status"] == "awaiting_payment"
    assert result.confirmed["status"] == "booked"
    assert result.checked_in["copay"]["status"] == "charged"
    price = result.completed["price"]["amount"]
    assert price == 52 * PER_MINUTE_CENTS
    assert result.cancelled["fee"]["status"] == "charged"
    assert result.refund["status"] in ("succeeded", "pending")
    entries = result.ledger["entries"]
    deposit = result.booked["booking_payment"]["amount_due"]
    assert deposit == DEPOSIT_FLAT
    applied = [e for e in entries if e["kind"] == "payment" and e["method"] == "credit"]
    assert applied and applied[0]["amount"] == DEPOSIT_FLAT  # the deposit paid part of the copay
    card = [e for e in entries if e["kind"] == "payment" and e["method"] == "card"]
    assert card and card[0]["amount"] == COPAY - DEPOSIT_FLAT
    assert any(e["kind"] == "refund" for e in entries)
    fee = result.cancelled["fee"]["amount"]
    # The second booking's deposit, credit once it was cancelled, paid part of its fee (an insured
    # session posts no price for a credit to go to); the card paid the rest, which the goodwill
    # refund gives back and writes off.
    credits = [e["amount"] for e in entries if e["kind"] == "payment" and e["method"] == "credit"]
    assert credits == [DEPOSIT_FLAT, DEPOSIT_FLAT]
    assert [e["amount"] for e in entries if e["kind"] == "adjustment"] == [fee - DEPOSIT_FLAT]
    assert sum(e["signed_amount"] for e in entries) == result.ledger["balance"]
    assert lines[-1].startswith("\nSessions and their money work end to end")
