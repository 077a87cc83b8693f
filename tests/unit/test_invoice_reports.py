"""The reports' aggregation and their CSVs (pure): what counts as money in, as an adjustment and as
money given back; decimal amounts with a currency column; text never a spreadsheet formula."""

import csv
import io
from datetime import UTC, date, datetime

from therabill.core.csv_text import to_csv
from therabill.core.money import Money
from therabill.invoices.reports import payments_csv, payments_report, revenue_csv, revenue_report
from therabill.ledger.chart import Line
from therabill.ledger.models import LedgerEntry

DAY = date(2031, 3, 4)
NOON = datetime(2031, 3, 4, 17, 0, tzinfo=UTC)  # 12:00 in New York
NEXT = datetime(2031, 3, 5, 17, 0, tzinfo=UTC)


def entry(n, kind, amount, *, method=None, at=NOON, currency="usd"):
    return LedgerEntry(
        id=f"led_{n}",
        client_id="cli_1",
        kind=kind,
        amount=Money(amount=amount, currency=currency),
        source_key=f"src:{n}",
        posted_at=at,
        memo="",
        method=method,
    )


ENTRIES = [
    entry(1, "charge", 12_000),
    entry(2, "credit", 3_000, method="card"),  # a booking deposit: money in
    entry(3, "payment", 3_000, method="credit"),  # the deposit applied to the charge: not money in
    entry(4, "payment", 2_000, method="cash"),
    entry(5, "adjustment", 1_500),  # a waiver
    entry(6, "credit", 500),  # goodwill credit: booked to adjustments
    entry(7, "refund", 1_000, method="card"),
    entry(8, "chargeback", 400, method="card"),
    entry(9, "adjustment", 2_500, at=NEXT),  # a day with only a write-off: negative net
    entry(10, "return", 700),  # a store sale given back: revenue taken back, not an adjustment
]


def test_money_in_adjustments_and_money_given_back():
    payments = payments_report(ENTRIES, start=DAY, end=DAY, tz_name="America/New_York", currency="usd")
    assert [r.entry.id for r in payments.rows] == ["led_2", "led_4"]
    assert payments.by_method == {"card": 3_000, "cash": 2_000}

    revenue = revenue_report(
        ENTRIES, start=DAY, end=date(2031, 3, 5), tz_name="America/New_York", currency="usd"
    )
    t = revenue.total
    assert (t.charges, t.adjustments, t.returns, t.net_revenue) == (12_000, 4_500, 700, 6_800)
    assert (t.payments, t.refunds, t.collected) == (5_000, 1_400, 3_600)
    assert revenue.by_day == {"2031-03-04": 9_300, "2031-03-05": -2_500}


def test_the_revenue_csv_has_decimals_a_currency_and_numbers_stay_numbers():
    revenue = revenue_report(
        ENTRIES, start=DAY, end=date(2031, 3, 5), tz_name="America/New_York", currency="usd"
    )
    rows = list(csv.DictReader(io.StringIO(revenue_csv(revenue))))
    assert rows == [
        {
            "date": "2031-03-04",
            "currency": "USD",
            "gross": "120.00",
            "adjustments": "20.00",
            "returns": "7.00",
            "net": "93.00",
            "payments": "50.00",
            "refunds": "14.00",
            "collected": "36.00",
        },
        {
            "date": "2031-03-05",
            "currency": "USD",
            "gross": "0.00",
            "adjustments": "25.00",
            "returns": "0.00",
            "net": "-25.00",  # a negative amount is a number, not text with an apostrophe
            "payments": "0.00",
            "refunds": "0.00",
            "collected": "0.00",
        },
    ]


def test_the_payments_csv_in_a_currency_without_decimals():
    yen = [entry(1, "payment", 5_000, method="card", currency="jpy")]
    tokyo = date(2031, 3, 5)  # 02:00 there
    report = payments_report(yen, start=tokyo, end=tokyo, tz_name="Asia/Tokyo", currency="jpy")
    report.client_names = {"cli_1": "@Ann"}
    [row] = list(csv.DictReader(io.StringIO(payments_csv(report))))
    assert (row["amount"], row["currency"], row["client_name"], row["date"]) == (
        "5000",
        "JPY",
        "'@Ann",
        "2031-03-05",
    )


def test_text_that_would_start_a_formula_is_quoted_as_text():
    text = to_csv(["a", "b", "c", "d"], [("=1+1", "+x", "\tcmd", "plain")])
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=1+1", "'+x", "'\tcmd", "plain"]


def test_a_staff_credit_taken_back_undoes_what_it_booked():
    entries = [
        entry(1, "credit", 2_000),  # goodwill: 20.00 of adjustments
        entry(2, "credit_reversal", 500),  # 5.00 of it taken back
        entry(3, "credit", 3_000, method="other"),  # paid outside Stripe: money in
        entry(4, "credit_reversal", 1_000, method="other"),  # 10.00 of it taken back
    ]
    t = revenue_report(entries, start=DAY, end=DAY, tz_name="America/New_York", currency="usd").total
    assert (t.adjustments, t.payments, t.refunds, t.collected) == (1_500, 3_000, 1_000, 2_000)


def test_a_write_off_undone_by_a_failed_refund_is_no_longer_an_adjustment():
    lines = (Line(account="receivable", amount=1_000), Line(account="adjustments", amount=-1_000))
    undo = entry(4, "charge", 1_000).model_copy(
        update={"lines": lines, "source_key": "refund-failed-undo:rfd_1"}
    )
    stayed = entry(5, "payment", 1_000, method="card").model_copy(
        update={"source_key": "refund-failed:rfd_1"}
    )
    entries = [
        entry(1, "charge", 5_000),
        entry(2, "refund", 1_000, method="card"),  # refunded as goodwill: written off
        entry(3, "adjustment", 1_000),
        stayed,  # the refund failed: the money stayed
        undo,  # and the write-off is owed again
    ]
    t = revenue_report(entries, start=DAY, end=DAY, tz_name="America/New_York", currency="usd").total
    assert (t.charges, t.adjustments, t.net_revenue) == (5_000, 0, 5_000)
    assert (t.payments, t.refunds, t.collected) == (0, 0, 0)  # no money in again, none given back
    assert payments_report(entries, start=DAY, end=DAY, tz_name="America/New_York", currency="usd").rows == []
