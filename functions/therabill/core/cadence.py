"""When a self-pay session is billed: at the practice's nightly cutoff (``nightly``), within
minutes of it becoming Ready (``at_completion``), or once a month (``monthly``: one consolidated
invoice per billing party on the practice's billing day, at the cutoff). The practice sets a
default; a client may override it (None: the practice's).

Monthly: a session is consolidated by the first run on or after its **billing date**, the first
billing day strictly after the session's local date of service. A billing day past the month's
last day falls on the last day (31 → 30 April, 28 or 29 February). So with the 1st, November's
sessions are billed together on 1 December; a session on the billing day itself waits for the
next one; and a session that becomes Ready only after its billing date (a note signed late, a
run skipped for a holiday) is billed by the next run, consolidated with whatever else of that
client is then due."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Literal

BillingCadence = Literal["nightly", "at_completion", "monthly"]
CADENCES: tuple[BillingCadence, ...] = ("nightly", "at_completion", "monthly")
BILLING_DAYS = (1, 31)  # the range of a monthly billing day


def cadence_of(practice_default: BillingCadence, own: BillingCadence | None) -> BillingCadence:
    """What holds for a client: their own choice, else the practice's."""
    return practice_default if own is None else own


def billing_date_in(year: int, month: int, day: int) -> date:
    """The month's billing date: ``day``, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def billing_date_after(served: date, day: int) -> date:
    """The first billing date strictly after ``served``: when a monthly session is consolidated."""
    this_month = billing_date_in(served.year, served.month, day)
    if this_month > served:
        return this_month
    year, month = (served.year + 1, 1) if served.month == 12 else (served.year, served.month + 1)
    return billing_date_in(year, month, day)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th... 11th, 12th, 13th... 21st, 31st."""
    teen = 10 <= n % 100 <= 20
    suffix = "th" if teen else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
