"""Which sessions served before auto-billing was turned on the run bills (the backfill) and which
wait for staff; the practice item keeps both dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from therabill.practices.models import Practice
from therabill.practices.store import from_item, to_item

SINCE = date(2026, 11, 16)


def _practice(**kw: object) -> Practice:
    base: dict[str, object] = {
        "id": "prc_0001",
        "name": "Harbor",
        "email": "office@harbor.test",
        "time_zone": "America/New_York",
        "cutoff_hour": 23,
        "currency": "usd",
        "country": "US",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "version": 3,
    }
    return Practice.model_validate(base | kw)


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        (date(2026, 11, 10), "staff"),  # before the backfill date
        (date(2026, 11, 11), "backfill"),  # on it
        (date(2026, 11, 15), "backfill"),  # the day before turning it on
        (SINCE, None),  # the day it was turned on: as usual
        (date(2026, 11, 20), None),
    ],
)
def test_before_auto_billing(served: date, expected: str | None) -> None:
    p = _practice(auto_billing_since=SINCE, backfill_from=date(2026, 11, 11))
    assert p.before_auto_billing(served) == expected


def test_no_backfill_date_leaves_all_older_for_staff_and_off_or_never_turned_on_decides_nothing() -> None:
    assert _practice(auto_billing_since=SINCE).before_auto_billing(date(2026, 11, 15)) == "staff"
    assert (
        _practice(auto_billing=False, auto_billing_since=SINCE).before_auto_billing(date(2026, 11, 1)) is None
    )
    assert _practice().before_auto_billing(date(2020, 1, 1)) is None


def test_the_practice_item_keeps_both_dates_and_stores_neither_unset() -> None:
    p = _practice(auto_billing_since=SINCE, backfill_from=date(2026, 11, 11))
    item = to_item(p)
    assert (item["auto_billing_since"], item["backfill_from"]) == ("2026-11-16", "2026-11-11")
    assert from_item(item) == p
    assert "auto_billing_since" not in to_item(_practice()) and "backfill_from" not in to_item(_practice())
