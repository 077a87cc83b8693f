"""Monthly billing dates (``core.cadence``) and how a run consolidates monthly clients' sessions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from therabill.core.cadence import billing_date_after, billing_date_in, ordinal
from therabill.nightly.consolidation import MAX_SESSIONS, consolidations
from therabill.nightly.models import ItemFacts, assess, build_report


def test_a_billing_day_past_the_months_end_falls_on_its_last_day() -> None:
    assert billing_date_in(2026, 4, 31) == date(2026, 4, 30)
    assert billing_date_in(2027, 2, 31) == date(2027, 2, 28)
    assert billing_date_in(2028, 2, 30) == date(2028, 2, 29)  # a leap year
    assert billing_date_in(2026, 12, 31) == date(2026, 12, 31)


def test_a_session_is_billed_on_the_first_billing_date_after_it() -> None:
    assert billing_date_after(date(2026, 11, 1), 1) == date(2026, 12, 1)  # on the day: the next
    assert billing_date_after(date(2026, 11, 30), 1) == date(2026, 12, 1)
    assert billing_date_after(date(2026, 12, 31), 1) == date(2027, 1, 1)  # over the year
    assert billing_date_after(date(2026, 12, 31), 31) == date(2027, 1, 31)
    assert billing_date_after(date(2027, 1, 31), 31) == date(2027, 2, 28)
    assert billing_date_after(date(2027, 2, 28), 31) == date(2027, 3, 31)
    assert billing_date_after(date(2026, 11, 14), 15) == date(2026, 11, 15)


@settings(max_examples=50, deadline=None)
@given(st.dates(date(2024, 1, 1), date(2030, 12, 31)), st.integers(1, 31))
def test_billing_dates_are_the_next_billing_day_within_a_month(served: date, day: int) -> None:
    billed = billing_date_after(served, day)
    assert served < billed <= served + timedelta(days=31)
    assert billed == billing_date_in(billed.year, billed.month, day)
    # No billing date lies strictly between the session and its own.
    between = {billing_date_in(d.year, d.month, day) for d in (served, billed)}
    assert not any(served < b < billed for b in between)


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "31st",
    ]


def _facts(n: int, client: str = "cli_a", *, autopay: bool = True) -> ItemFacts:
    return ItemFacts(
        session_id=f"ses_{client[-1]}{n:03d}",
        client_id=client,
        client_name="Ann Client",
        status="completed",
        service_date=date(2026, 11, 1) + timedelta(days=n % 30),
        currency="usd",
        session_amount=10_000 + n,
        not_billed=False,
        cpt_code=None,
        copay_balance=0,
        fee_balance=0,
        insured=False,
        practice_can_charge=True,
        card_chargeable=True,
        payer_email=True,
        autopay=autopay,
        monthly_on=date(2026, 12, 1),
    )


def test_due_sessions_make_one_item_per_client_oldest_first_and_split_past_the_cap() -> None:
    due = [(f, assess(f)) for f in [_facts(3), _facts(1), _facts(2, "cli_b", autopay=False)]]
    items = consolidations(due)
    assert [(i.session_id, i.client_id, i.sessions, i.amount, i.action) for i in items] == [
        ("ses_a001", "cli_a", ("ses_a001", "ses_a003"), 20_004, "charge"),
        ("ses_b002", "cli_b", ("ses_b002",), 10_002, "send"),
    ]
    many = consolidations([(f, assess(f)) for f in (_facts(n) for n in range(MAX_SESSIONS + 3))])
    assert [len(i.sessions) for i in many] == [MAX_SESSIONS, 3]
    assert sorted(s for i in many for s in i.sessions) == sorted(_facts(n).session_id for n in range(43))


def test_a_consolidation_counts_each_session_it_bills_in_the_report() -> None:
    item = consolidations([(f, assess(f)) for f in (_facts(1), _facts(2))])[0]
    done = item.model_copy(
        update={"status": "done", "outcome": "charged", "billed": 20_003, "invoice_ids": ("inv_1",)}
    )
    single = replace(_facts(5, "cli_c"), monthly_on=None)
    one = consolidations([(single, assess(single))])[0].model_copy(
        update={"status": "done", "outcome": "sent", "billed": 10_005, "invoice_ids": ("inv_2",)}
    )
    report = build_report([done, one], held=[], incomplete=0, skipped=0, later=4)
    assert (report.items_billed, report.amount_billed, report.invoices_consolidated, report.later) == (
        3,
        30_008,
        2,
        4,
    )
