"""Dates in words, one way for the whole product: short on invoices, long on the pages."""

from __future__ import annotations

import locale
from datetime import UTC, date, datetime

import pytest

from therabill.core.clock import day_text


@pytest.mark.parametrize(
    ("day", "short", "long"),
    [
        (date(2026, 11, 3), "Tue 3 Nov 2026", "Tuesday 3 November 2026"),
        (date(2026, 12, 4), "Fri 4 Dec 2026", "Friday 4 December 2026"),
        (date(2027, 1, 31), "Sun 31 Jan 2027", "Sunday 31 January 2027"),
    ],
)
def test_a_date_reads_the_same_short_and_long(day: date, short: str, long: str) -> None:
    assert day_text(day) == short
    assert day_text(day, long=True) == long


def test_a_datetime_gives_its_own_date() -> None:
    assert day_text(datetime(2026, 9, 7, 23, 30, tzinfo=UTC), long=True) == "Monday 7 September 2026"


def test_the_servers_locale_never_changes_the_words() -> None:
    before = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
            except locale.Error:
                continue
            assert day_text(date(2026, 5, 1), long=True) == "Friday 1 May 2026"
    finally:
        locale.setlocale(locale.LC_TIME, before)
