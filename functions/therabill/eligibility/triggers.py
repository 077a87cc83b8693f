"""When a coverage added or changed asks for an eligibility check (off the request's path: the
``CheckRequests`` port, a one-time schedule to the eligibility function). Asking must never make
the coverage request wait on the clearinghouse or fail with it: a scheduler that cannot be reached
is logged (by ids) and the coverage stands; staff can still ask on demand."""

from __future__ import annotations

from collections.abc import Iterable

from therabill.core.errors import DependencyUnavailableError
from therabill.coverage.models import Coverage
from therabill.eligibility.ports import CheckRequests
from therabill.observability import logger

# The fields a 270 is made of (or that decide whether the coverage is in force): a change of any
# asks the payer again; a change of staff's copay or the plan's name does not.
CHECKED_FIELDS = frozenset(
    {
        "payer",
        "member_id",
        "group_number",
        "relationship",
        "subscriber",
        "patient_birth_date",
        "patient_sex",
        "rank",
        "effective_date",
        "end_date",
    }
)


def wants_check(coverage: Coverage, changed: Iterable[str] | None = None) -> bool:
    """An active primary coverage, added (``changed`` None) or changed in a field the 270 holds."""
    if coverage.status != "active" or coverage.rank != "primary" or coverage.member_id is None:
        return False
    return changed is None or bool(CHECKED_FIELDS & set(changed))


def ask_for_check(
    requests: CheckRequests | None, practice_id: str, coverage: Coverage, changed: Iterable[str] | None = None
) -> bool:
    """Ask for a check of ``coverage`` soon when it wants one; whether it was asked for."""
    if requests is None or not wants_check(coverage, changed):
        return False
    try:
        requests.request(practice_id, coverage.client_id, coverage.id, version=coverage.version)
    except DependencyUnavailableError:
        logger.warning("eligibility check not scheduled", practice_id=practice_id, coverage_id=coverage.id)
        return False
    return True
