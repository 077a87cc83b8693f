"""Stored instants are sortable text with a four-digit year."""

from datetime import UTC, datetime, timedelta, timezone

from therabill.core.clock import iso, parse_iso


def test_iso_writes_every_year_in_four_digits_and_reads_back():
    for moment in (
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 12, 4, 17, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5))),
    ):
        text = iso(moment)
        assert len(text) == len("2026-12-04T22:01:02.000003Z") and text.endswith("Z"), text
        assert parse_iso(text) == moment
    assert iso(datetime(999, 1, 1, tzinfo=UTC)) < iso(datetime(1000, 1, 1, tzinfo=UTC))
