"""Monthly billing dates (``core.cadence``) and how a run consolidates monthly clients' sessions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_nightly_models import BASE
from therabill.core.cadence import billing_date_after, billing_date_in, ordinal
from therabill.nightly.consolidation import MAX_SESSIONS, consolidations
from therabill.nightly.models import ItemFacts, assess, build_report
from therabill.nightly.planning import plan_items
from therabill.practices.models import Practice


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
    # No billing date lies strictly between the session and its own: the served month's is on or
    # before it, or is its own; the month after's is its own (or later).
    this_month = billing_date_in(served.year, served.month, day)
    assert this_month <= served or this_month == billed
    if this_month <= served:
        assert (billed.year, billed.month) == (
            (served.year + 1, 1) if served.month == 12 else (served.year, served.month + 1)
        )


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
    return replace(
        BASE,
        session_id=f"ses_{client[-1]}{n:03d}",
        client_id=client,
        service_date=date(2026, 11, 1) + timedelta(days=n % 30),
        session_amount=10_000 + n,
        cpt_code=None,
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


# -- switching cadence and auto-billing over a month: the run's plan, night after night ----------
CADENCES = ("nightly", "at_completion", "monthly")
PRACTICE = Practice(
    id="prc_1",
    name="Harbor",
    email="office@harbor.test",
    time_zone="America/New_York",
    cutoff_hour=23,
    currency="usd",
    country="US",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    version=1,
)
switches = st.lists(
    st.tuples(st.integers(0, 45), st.sampled_from((*CADENCES, "auto_off", "auto_on", "auto_on_backfill"))),
    max_size=6,
)


@settings(max_examples=50, deadline=None)
@given(
    served=st.lists(st.integers(0, 40), min_size=1, max_size=8),
    changes=switches,
    billing_day=st.integers(1, 31),
    staff_nights=st.sets(st.integers(0, 60), max_size=4),
)
def test_switching_cadence_or_auto_billing_on_any_dates_bills_each_session_once(
    served: list[int], changes: list[tuple[int, str]], billing_day: int, staff_nights: set[int]
) -> None:
    """Each night from 1 November the run plans from the settings of that day; staff bill all
    that waits on some nights. No session is planned twice, and once the settings stay put (auto-
    billing on) and staff have billed what waits for them, nothing is left unbilled."""
    start = date(2026, 11, 1)
    practice = PRACTICE.model_copy(update={"monthly_billing_day": billing_day})
    sessions = {f"ses_{n}": start + timedelta(days=day) for n, day in enumerate(served)}
    billed: dict[str, date] = {}
    cadence = "nightly"
    for night in range(90):
        today = start + timedelta(days=night)
        for when, what in changes:
            if when == night:
                practice, cadence = _switched(practice, cadence, what, today)
        facts = [
            _due(sid, day, practice, cadence)
            for sid, day in sessions.items()
            if day <= today and sid not in billed
        ]
        decided = [(f, assess(f)) for f in facts]
        auto = practice.auto_billing
        staff = night in staff_nights or night == 89  # the last night: staff bill what waits
        if not auto and not staff:
            continue
        chosen = {f.session_id for f, a in decided if a.state == "ready"} if staff else None
        plan = plan_items(decided, chosen, run_date=today, auto_billing=auto)
        for item in plan.items:
            for sid in item.session_ids:
                assert sid not in billed, (sid, billed[sid], today)
                billed[sid] = today
        if auto and not staff:  # tonight bills exactly what the rule says, no more, no less
            for f, _ in decided:
                tonight = billed.get(f.session_id) == today
                if f.before_auto == "staff":
                    assert not tonight, f
                else:
                    assert tonight == (f.monthly_on is None or f.monthly_on <= today), (f, today)
    assert set(billed) == set(sessions)


def _switched(practice: Practice, cadence: str, what: str, today: date) -> tuple[Practice, str]:
    if what in CADENCES:
        return practice, what
    if what == "auto_off":
        return practice.model_copy(update={"auto_billing": False}), cadence
    if practice.auto_billing:
        return practice, cadence
    backfill = today - timedelta(days=10) if what == "auto_on_backfill" else None
    return practice.model_copy(
        update={"auto_billing": True, "auto_billing_since": today, "backfill_from": backfill}
    ), cadence


def _due(session_id: str, served: date, practice: Practice, cadence: str) -> ItemFacts:
    return replace(
        BASE,
        session_id=session_id,
        client_id="cli_a",
        service_date=served,
        session_amount=10_000,
        at_completion=cadence == "at_completion",
        monthly_on=billing_date_after(served, practice.monthly_billing_day) if cadence == "monthly" else None,
        before_auto=practice.before_auto_billing(served),
    )
