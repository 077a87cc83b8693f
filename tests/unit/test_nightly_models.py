"""The nightly run's pure decisions: run dates across DST, the holiday calendar, Ready /
Incomplete / Skipped / Held with every reason that holds, and the report."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from therabill.nightly.models import (
    ItemFacts,
    RunItem,
    assess,
    batches,
    build_report,
    disposition,
    will_happen,
)
from therabill.nightly.nights import (
    cutoff_instant,
    decide_firing,
    hour_skipped_some_day,
    run_date_at,
    summary_hour,
    summary_run_date_at,
)
from therabill.practices.calendar import validate_calendar

NY, LONDON = "America/New_York", "Europe/London"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "tz", "cutoff", "expected"),
    [
        ("2026-11-21T04:00:00", NY, 23, "2026-11-20"),  # 23:00 EST
        ("2026-11-21T04:05:00", NY, 23, "2026-11-20"),  # a late firing keeps its date
        ("2026-11-21T14:00:00", NY, 23, "2026-11-20"),  # the next morning still
        ("2026-11-21T16:00:00", NY, 23, "2026-11-21"),  # 11:00: tonight's
        ("2026-03-09T03:00:00", NY, 23, "2026-03-08"),  # 23:00 EDT, the spring-forward night
        ("2026-11-02T04:00:00", NY, 23, "2026-11-01"),  # 23:00 EST, the fall-back night
        ("2026-11-01T05:00:00", NY, 1, "2026-11-01"),  # 01:00 EDT
        ("2026-11-01T06:00:00", NY, 1, "2026-11-01"),  # 01:00 EST, the repeat: same date
        ("2026-03-29T22:00:00", LONDON, 23, "2026-03-29"),  # 23:00 BST
        ("2026-10-25T23:00:00", LONDON, 23, "2026-10-25"),  # 23:00 GMT
    ],
)
def test_run_date_at(instant: str, tz: str, cutoff: int, expected: str) -> None:
    assert run_date_at(at(instant), tz, cutoff).isoformat() == expected


def test_cutoff_instant_in_a_skipped_hour_is_the_first_instant_after() -> None:
    assert cutoff_instant(date(2026, 3, 8), NY, 2) == at("2026-03-08T07:00:00")  # 03:00 EDT
    assert cutoff_instant(date(2026, 11, 20), NY, 23) == at("2026-11-21T04:00:00")


def test_summary_hours() -> None:
    assert summary_hour(23, 3) == (20, 0)
    assert summary_hour(1, 3) == (22, -1)
    assert summary_run_date_at(at("2026-11-21T01:00:00"), NY, 23, 3) == date(2026, 11, 20)
    assert summary_run_date_at(at("2026-11-21T03:00:00"), NY, 1, 3) == date(2026, 11, 21)


def test_holiday_calendar() -> None:
    cal = validate_calendar({"2026-12-25": "skip", "2026-12-31": "2026-12-30"})
    assert decide_firing(date(2026, 12, 25), cal).run is False
    moved_away = decide_firing(date(2026, 12, 31), cal)
    assert moved_away.run is False and "2026-12-30" in moved_away.reason
    target = decide_firing(date(2026, 12, 30), cal)
    assert target.run and target.moved_from == (date(2026, 12, 31),)
    assert (
        decide_firing(date(2026, 12, 29), cal).run and decide_firing(date(2026, 12, 29), cal).moved_from == ()
    )
    for bad in (
        {"2026-02-30": "skip"},
        {"2026-12-25": "later"},
        {"2026-12-25": "2026-12-25"},
        {"2026-12-25": "2027-02-01"},
        {"2026-12-25": "skip", "2026-12-24": "2026-12-25"},
    ):
        with pytest.raises(ValueError):
            validate_calendar(bad)


BASE = ItemFacts(
    session_id="ses_1",
    client_id="cli_1",
    client_name="Ann Client",
    status="completed",
    service_date=date(2026, 11, 20),
    currency="usd",
    session_amount=12_000,
    not_billed=False,
    cpt_code="90837",
    copay_balance=0,
    fee_balance=0,
    insured=False,
    practice_can_charge=True,
    card_chargeable=True,
    payer_email=True,
)


def test_ready_charge_or_send() -> None:
    a = assess(BASE)
    assert (a.state, a.action, a.amount, a.reasons) == ("ready", "charge", 12_000, ())
    a = assess(replace(BASE, card_chargeable=False))
    assert (a.state, a.action) == ("ready", "send")
    a = assess(replace(BASE, copay_balance=2_000, fee_balance=0))
    assert a.amount == 14_000
    a = assess(replace(BASE, status="no_show", session_amount=0, fee_balance=5_000))
    assert (a.state, a.action, a.amount) == ("ready", "charge", 5_000)


def test_an_insured_session_waits_for_the_provider_set_up_a_claim_needs() -> None:
    claim = replace(BASE, insured=True, claims_enabled=True)
    assert assess(claim).state == "ready"
    no_billing = assess(replace(claim, has_billing_provider=False))
    assert (no_billing.state, no_billing.action, no_billing.reasons) == (
        "incomplete",
        "claim",
        ("insurance_setup_incomplete",),
    )
    assert no_billing.reason_texts == ["insurance set-up not complete"]
    assert assess(replace(claim, has_rendering_npi=False)).reasons == ("insurance_setup_incomplete",)
    no_taxonomy = assess(replace(claim, has_taxonomy=False))
    assert no_taxonomy.reasons == ("missing_provider_taxonomy",)
    assert no_taxonomy.reason_texts == ["missing provider taxonomy"]
    nothing = replace(claim, has_billing_provider=False, has_rendering_npi=False, has_taxonomy=False)
    assert assess(nothing).reasons == ("insurance_setup_incomplete", "missing_provider_taxonomy")
    # A self-pay session needs no NPI or taxonomy: billed as before.
    self_pay = assess(replace(nothing, insured=False))
    assert (self_pay.state, self_pay.reasons) == ("ready", ())


def test_incomplete_lists_every_reason() -> None:
    a = assess(replace(BASE, insured=True, cpt_code=""))
    assert a.state == "incomplete" and a.reasons == ("claims_not_set_up", "missing_cpt_code")
    assert a.reason_texts == ["claims not set up", "missing CPT code"]
    a = assess(replace(BASE, session_amount=None, insured=True, cpt_code=None))
    assert a.reasons == ("missing_price", "claims_not_set_up", "missing_cpt_code")
    a = assess(replace(BASE, card_chargeable=False, payer_email=False))
    assert a.reasons == ("no_email_or_card",)
    a = assess(replace(BASE, practice_can_charge=False, payer_email=False))
    assert a.reasons == ("no_email_or_card", "provider_setup_incomplete")
    # A held item that is not ready stays Incomplete: the reasons matter more.
    assert assess(replace(BASE, insured=True, held=True)).state == "incomplete"


def test_skipped_and_held() -> None:
    assert assess(replace(BASE, session_amount=0)).reasons == ("zero_amount",)
    assert assess(replace(BASE, not_billed=True)).reasons == ("not_billed",)
    # Not billed for the session, but a copay left open is still billed.
    assert assess(replace(BASE, not_billed=True, copay_balance=1_500)).amount == 1_500
    held = assess(replace(BASE, held=True))
    assert (held.state, held.amount, held.reasons) == ("held", 0, ("held",))


def test_report() -> None:
    items = [
        RunItem(
            session_id="s1",
            client_id="c",
            amount=100,
            action="charge",
            status="done",
            outcome="charged",
            billed=100,
            charged=100,
        ),
        RunItem(
            session_id="s2",
            client_id="c",
            amount=200,
            action="send",
            status="done",
            outcome="sent",
            billed=200,
        ),
        RunItem(
            session_id="s3",
            client_id="c",
            amount=300,
            action="send",
            status="done",
            outcome="failed",
            problem="no email",
        ),
        RunItem(
            session_id="s4",
            client_id="c",
            amount=400,
            action="charge",
            status="done",
            outcome="pending",
            billed=400,
        ),
        RunItem(session_id="s5", client_id="c", amount=500, action="charge"),
    ]
    r = build_report(items, held=["s9"], incomplete=2, skipped=1)
    assert (r.items_billed, r.amount_billed, r.cards_charged, r.amount_charged) == (3, 700, 1, 100)
    assert (r.invoices_sent, r.pending, r.held, r.incomplete, r.skipped) == (1, 1, ["s9"], 2, 1)
    assert r.failures == [{"session_id": "s3", "reason": "no email"}]


def test_batches() -> None:
    assert batches([str(i) for i in range(51)], 25) == [
        [str(i) for i in range(25)],
        [str(i) for i in range(25, 50)],
        ["50"],
    ]
    assert batches([]) == []


def test_insured_sessions_are_claims_once_the_claims_port_exists() -> None:
    waiting = assess(replace(BASE, insured=True))
    assert (waiting.state, waiting.action, waiting.reasons) == (
        "incomplete",
        "claim",
        ("claims_not_set_up",),
    )
    ready = assess(replace(BASE, insured=True, claims_enabled=True))
    assert (ready.state, ready.action, ready.amount) == ("ready", "claim", 12_000)
    no_code = assess(replace(BASE, insured=True, claims_enabled=True, cpt_code=""))
    assert (no_code.state, no_code.reasons) == ("incomplete", ("missing_cpt_code",))
    r = build_report(
        [
            RunItem(
                session_id="s",
                client_id="c",
                amount=9,
                action="claim",
                status="done",
                outcome="claimed",
                billed=9,
            )
        ],
        held=[],
        incomplete=0,
        skipped=0,
    )
    assert (r.claims_submitted, r.items_billed, r.amount_billed) == (1, 1, 9)


@pytest.mark.parametrize(
    ("tz", "hour", "skipped"),
    [
        ("America/New_York", 2, True),  # second Sunday of March
        ("America/New_York", 1, False),  # repeated in November, never skipped
        ("America/New_York", 23, False),
        ("Europe/London", 1, True),  # last Sunday of March, 01:00 → 02:00
        ("Europe/London", 2, False),
        ("Asia/Tokyo", 2, False),  # no daylight saving
        ("America/Santiago", 0, True),  # springs forward at midnight
    ],
)
def test_hours_the_clocks_skip(tz: str, hour: int, skipped: bool) -> None:
    assert hour_skipped_some_day(tz, hour, date(2026, 1, 1)) is skipped


def test_autopay_off_sends_what_a_card_would_pay_and_the_listing_says_what_happens() -> None:
    on, off = assess(BASE), assess(replace(BASE, autopay=False))
    assert (on.action, off.action, off.amount) == ("charge", "send", 12_000)
    assert (_will(BASE), _will(replace(BASE, autopay=False))) == ("charged now", "sent")
    assert _will(BASE, auto_billing=False) == "waiting for staff"
    assert _will(replace(BASE, held=True), auto_billing=False) == "held until tomorrow"
    assert _will(replace(BASE, session_amount=None)) == "left out"
    assert _will(replace(BASE, not_billed=True)) == "not billed"
    no_way = assess(replace(BASE, autopay=False, payer_email=False))
    assert (no_way.state, no_way.reasons) == ("incomplete", ("no_email_or_card",))


def _will(f: ItemFacts, *, run_date: date = date(2026, 11, 20), auto_billing: bool = True) -> str:
    return will_happen(f, assess(f), run_date=run_date, auto_billing=auto_billing)


def test_at_completion_items_say_so_and_staff_or_claims_come_first() -> None:
    done = replace(BASE, at_completion=True)
    assert _will(done) == _will(replace(done, autopay=False)) == "billed at completion"
    assert _will(done, auto_billing=False) == "waiting for staff"
    claim = replace(done, insured=True, claims_enabled=True)
    assert _will(claim) == "claim submitted"  # insured: the claim path
    assert _will(replace(done, note_required=True)) == "left out"


def test_a_monthly_item_is_consolidated_on_its_billing_date_and_left_until_then() -> None:
    monthly = replace(BASE, monthly_on=date(2026, 12, 1))
    assert _will(monthly) == "consolidated on the 1st (2026-12-01)"
    assert _will(monthly, run_date=date(2026, 12, 1)) == "consolidated tonight, charged"
    assert _will(replace(monthly, autopay=False), run_date=date(2026, 12, 3)) == "consolidated tonight, sent"
    assert _will(monthly, auto_billing=False, run_date=date(2026, 12, 1)) == "waiting for staff"
    assert _will(replace(monthly, insured=True, claims_enabled=True)) == "claim submitted"
    assert _will(replace(monthly, held=True)) == "held until tomorrow"
    dispositions = {
        d: disposition(monthly, assess(monthly), run_date=d, auto_billing=True)
        for d in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2))
    }
    assert dispositions == {
        date(2026, 11, 30): "later",
        date(2026, 12, 1): "consolidate",
        date(2026, 12, 2): "consolidate",  # a run skipped on the day: the next one consolidates
    }


def test_a_staff_runs_report_counts_what_it_left_waiting() -> None:
    report = build_report([], held=[], incomplete=0, skipped=0, waiting=2)
    assert (report.items_billed, report.waiting) == (0, 2)


def test_under_split_billing_the_listing_says_what_each_party_gets() -> None:
    split = replace(BASE, payers=(("Mia Parent", True), ("Dan Parent", False)))
    assert _will(split) == "charged now (Mia Parent), sent (Dan Parent)"
    monthly = replace(split, monthly_on=date(2026, 12, 1))
    assert (
        _will(monthly, run_date=date(2026, 12, 1))
        == "consolidated tonight, charged (Mia Parent), sent (Dan Parent)"
    )
    assert _will(split, auto_billing=False) == "waiting for staff"
