"""The nightly run's SQS consumer and scheduled target, thin: parse, call NightlyService, report
failures per message (``batchItemFailures``) so SQS redelivers only those (then the DLQ)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from typing import Any

from therabill.core.clock import parse_iso
from therabill.core.errors import InvalidRequestError
from therabill.core.ids import is_id
from therabill.nightly.service import NightlyService
from therabill.observability import logger


def _practice_id(value: Any) -> str:
    if not isinstance(value, str) or not is_id(value, "prc"):
        raise InvalidRequestError("the message names no practice")
    return value


def apply_message(body: str, nightly: NightlyService) -> str:
    message = json.loads(body)
    practice_id = _practice_id(message.get("practice_id"))
    run_date = date.fromisoformat(str(message.get("run_date")))
    kind = message.get("type")
    if kind == "plan":
        run = nightly.plan(practice_id, run_date)
        return run.status
    if kind == "items":
        pairs = [(str(s), str(c)) for s, c in message.get("items", [])]
        nightly.process(practice_id, run_date, pairs)
        return "processed"
    raise InvalidRequestError(f"unknown nightly message type {kind!r}")


UnitOfWork = Callable[[], AbstractContextManager[object]]


def process_batch(
    event: dict[str, Any], nightly: NightlyService, *, unit_of_work: UnitOfWork = nullcontext
) -> dict[str, Any]:
    """``unit_of_work``: the table's read memo (``Table.unit_of_work``), one per message."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            with unit_of_work():
                result = apply_message(record["body"], nightly)
            logger.info("nightly message applied", message_id=message_id, result=result)
        except Exception:
            logger.exception("nightly message failed", message_id=message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def dispatch(
    event: dict[str, Any], nightly: NightlyService, *, unit_of_work: UnitOfWork = nullcontext
) -> dict[str, Any]:
    """A schedule's firing: ``{"practice_id", "kind": "run" | "summary", "scheduled_time"?,
    "trigger"?, "run_date"?}`` (``run_date``: a one-time firing resumes that date's run only), a
    session's billing at completion (``{"practice_id", "kind": "session", "client_id",
    "session_id"}``), or the contract's ``nightly-sweep`` schedule (no practice: resume
    unfinished runs).
    ``unit_of_work``: the table's read memo, for one practice's firing (the sweep, over many
    practices, reads without it)."""
    if event.get("practice_id") is None and event.get("schedule") == "nightly-sweep":
        return {"sweep": nightly.sweep()}
    with unit_of_work():
        return _fire(event, nightly)


def _fire(event: dict[str, Any], nightly: NightlyService) -> dict[str, Any]:
    practice_id = _practice_id(event.get("practice_id"))
    if event.get("kind") == "session":
        return _bill_session(practice_id, event, nightly)
    at: datetime | None = parse_iso(event["scheduled_time"]) if event.get("scheduled_time") else None
    if event.get("kind") == "summary":
        listing = nightly.summary(practice_id, at=at, email=True)
        return {
            "practice_id": practice_id,
            "summary": listing.run_date.isoformat(),
            "items": len(listing.items),
        }
    trigger = str(event.get("trigger") or "schedule")[:80]
    if event.get("run_date"):  # a one-time firing of "run now" / "bill now": that date's run
        run = nightly.resume(practice_id, date.fromisoformat(str(event["run_date"])))
    else:
        run = nightly.fire(practice_id, at=at, trigger=trigger)
    if run is None:
        return {"practice_id": practice_id, "run": None}
    return {"practice_id": practice_id, "run": run.id, "status": run.status}


def _bill_session(practice_id: str, event: dict[str, Any], nightly: NightlyService) -> dict[str, Any]:
    session_id, client_id = event.get("session_id"), event.get("client_id")
    if not (isinstance(session_id, str) and is_id(session_id, "ses")):
        raise InvalidRequestError("the firing names no session")
    if not (isinstance(client_id, str) and is_id(client_id, "cli")):
        raise InvalidRequestError("the firing names no client")
    result = nightly.bill_at_completion(practice_id, client_id, session_id)
    logger.info("billing at completion", practice_id=practice_id, session_id=session_id, result=result)
    return {"practice_id": practice_id, "session_id": session_id, "result": result}
