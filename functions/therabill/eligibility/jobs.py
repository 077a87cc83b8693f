"""The eligibility function's firings (EventBridge Scheduler):

- ``{"kind": "coverage", "practice_id", "client_id", "coverage_id"}``: a one-time schedule made
  when staff added or changed a coverage. A check the product refuses (no billing provider, the
  coverage incomplete) or that is made already is done with; a clearinghouse that cannot be
  reached raises, so Scheduler retries (then its dead-letter queue, alarmed).
- the contract's hourly ``eligibility-batch`` schedule: each practice (listed from the practices'
  nightly run schedules, never a Scan) whose local batch hour it is gets its batch for the next
  day; one practice failing is logged and the others go on. ``{"kind": "batch", "practice_id"}``
  runs one practice's batch now (the operator, the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from therabill.core.clock import parse_iso
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.core.ids import is_id
from therabill.eligibility.batch import EligibilityBatch
from therabill.eligibility.errors import EligibilityInFlightError, EligibilityRefusedError
from therabill.eligibility.service import EligibilityService
from therabill.observability import logger

UnitOfWork = Callable[[], AbstractContextManager[None]]


def _id(event: dict[str, Any], name: str, prefix: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not is_id(value, prefix):
        raise InvalidRequestError(f"the firing names no {name}")
    return value


def handle(
    event: dict[str, Any],
    *,
    checks: EligibilityService,
    batch: EligibilityBatch,
    practice_ids: Callable[[], list[str]],
    unit_of_work: UnitOfWork = nullcontext,
) -> dict[str, Any]:
    if event.get("kind") == "coverage":
        with unit_of_work():
            return _coverage(event, checks)
    if event.get("practice_id") is not None:
        practice_id = _id(event, "practice_id", "prc")
        return {"practices": {practice_id: batch.run(practice_id)}}
    at = parse_iso(event["scheduled_time"]) if event.get("scheduled_time") else None
    ran: dict[str, Any] = {}
    for practice_id in practice_ids():
        try:
            if batch.due(practice_id, at):
                ran[practice_id] = batch.run(practice_id)
        except Exception:  # one practice's failure must not stop the others
            logger.exception("eligibility batch failed", practice_id=practice_id)
            ran[practice_id] = {"failed": 1}
    return {"practices": ran}


def _coverage(event: dict[str, Any], checks: EligibilityService) -> dict[str, Any]:
    practice_id = _id(event, "practice_id", "prc")
    client_id, coverage_id = _id(event, "client_id", "cli"), _id(event, "coverage_id", "cov")
    try:
        outcome = checks.check(practice_id, client_id, coverage_id, trigger="coverage")
    except EligibilityRefusedError as exc:
        logger.info(
            "eligibility check refused", practice_id=practice_id, coverage_id=coverage_id, reason=exc.message
        )
        return {"outcome": "refused"}
    except EligibilityInFlightError:
        return {"outcome": "in_flight"}
    except NotFoundError:
        return {"outcome": "not_found"}
    return {"outcome": "repeated" if outcome.repeated else outcome.check.status, "check_id": outcome.check.id}
