"""The business metrics' pieces on their own: when a run is overdue (cutoff in the practice's zone,
or its start when staff started it later), a finished run's counts (failures included), and the
metrics port writing nothing while metrics are disabled."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from therabill import contract
from therabill.core.money import Money
from therabill.nightly.models import Report
from therabill.nightly.nights import run_overdue
from therabill.nightly.reports import _count
from therabill.observability import business, metrics
from therabill.practices.models import Practice

GRACE = timedelta(hours=contract.NIGHTLY_RUN_GRACE_HOURS)
NIGHT = date(2026, 11, 20)
CUTOFF = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # 23:00 in New York (EST)


def _practice(cutoff_hour: int = 23, time_zone: str = "America/New_York") -> Practice:
    return Practice(
        id="prc_0001",
        name="Harbor",
        email="office@harbor.test",
        time_zone=time_zone,
        cutoff_hour=cutoff_hour,
        currency="usd",
        country="US",
        created_at=CUTOFF,
        version=1,
    )


def _records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    lines = capsys.readouterr().out.splitlines()
    return [r for r in (json.loads(x) for x in lines if x.startswith("{")) if "_aws" in r]


@pytest.mark.parametrize(
    ("started", "now", "overdue"),
    [
        (CUTOFF, CUTOFF + GRACE, False),  # exactly two hours: not yet
        (CUTOFF, CUTOFF + GRACE + timedelta(seconds=1), True),
        (CUTOFF - timedelta(hours=3), CUTOFF + GRACE + timedelta(seconds=1), True),  # run now, evening
        (CUTOFF + timedelta(hours=5), CUTOFF + timedelta(hours=6), False),  # started late by hand
        (CUTOFF + timedelta(hours=5), CUTOFF + timedelta(hours=7, seconds=1), True),
    ],
)
def test_a_run_is_overdue_two_hours_after_its_cutoff_or_its_later_start(
    started: datetime, now: datetime, overdue: bool
) -> None:
    assert run_overdue(NIGHT, started, _practice(), now=now, grace=GRACE) is overdue


def test_the_cutoff_is_read_in_the_practices_zone() -> None:
    london = _practice(time_zone="Europe/London")  # 23:00 in London is 23:00 UTC in November
    cutoff = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert not run_overdue(NIGHT, cutoff, london, now=cutoff + GRACE, grace=GRACE)
    assert run_overdue(NIGHT, cutoff, london, now=cutoff + GRACE + timedelta(minutes=1), grace=GRACE)


def test_a_finished_run_counts_its_items_billed_incomplete_and_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()
    report = Report(
        items_billed=4,
        amount_billed=40_000,
        cards_charged=2,
        amount_charged=20_000,
        invoices_sent=2,
        pending=0,
        failures=[{"session_id": "ses_1", "reason": "failed"}, {"session_id": "ses_2", "reason": "x"}],
        held=[],
        incomplete=3,
        skipped=1,
    )
    _count(report, before=(0, 0, 0))
    metrics.flush_metrics()
    (record,) = _records(capsys)
    assert record[contract.METRIC_NIGHTLY_RUNS_FINISHED] == [1.0]
    assert record[contract.METRIC_NIGHTLY_ITEMS_BILLED] == [4.0]
    _count(report, before=(3, 2, 3))  # an extended run: only the item billed since its last finish
    metrics.flush_metrics()
    (again,) = _records(capsys)
    assert again[contract.METRIC_NIGHTLY_ITEMS_BILLED] == [1.0]
    assert (
        again[contract.METRIC_NIGHTLY_ITEMS_FAILED]
        == again[contract.METRIC_NIGHTLY_ITEMS_INCOMPLETE]
        == [0.0]
    )
    assert record[contract.METRIC_NIGHTLY_ITEMS_INCOMPLETE] == [3.0]
    assert record[contract.METRIC_NIGHTLY_ITEMS_FAILED] == [2.0]
    assert "ses_1" not in json.dumps(record)


def test_nothing_is_kept_or_written_while_metrics_are_disabled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics.clear_metrics()
    business.count(contract.METRIC_CHARGES_SUCCEEDED, amount=Money(amount=100, currency="usd"))
    assert metrics.metric_set == {}
    assert _records(capsys) == []
