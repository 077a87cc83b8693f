"""Eligibility items, in the practice's partition:

- the check ``ELIGCHECK#<cli>#<chk>`` (ids sort by time): ``coverage_id``, ``status``,
  ``checked_at`` and the whole check as JSON (``data``); written once (put-if-absent);
- the day guard ``ELIGDAY#<local day>#<cli>#<payer>#<date of service>``: at most one check of a
  client, payer and date of service a day. Put-if-absent before the clearinghouse is called,
  ``state`` in_flight → done (the check is stored) or failed (nothing reached the payer, or the
  payer asked to retry later: the next request checks again); ``check_id``, ``claimed_at``; TTL
  three days; ``inquiry``, a digest of what the 270 asked (a coverage changed since, e.g. its
  member id, is asked again the same day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.ids import is_id
from therabill.eligibility.errors import EligibilityCheckNotFoundError, EligibilityInFlightError
from therabill.eligibility.models import EligibilityCheck

# A claim older than this is a crashed one (a check waits at most two tries of 6 s on the
# clearinghouse, inside a 15 s function): the next request takes it over.
LEASE = timedelta(seconds=60)
_GUARD_DAYS = 3


def check_sk(client_id: str, check_id: str = "") -> str:
    return f"ELIGCHECK#{client_id}#{check_id}"


def guard_sk(day: date, client_id: str, payer_id: str, date_of_service: date) -> str:
    return f"ELIGDAY#{day.isoformat()}#{client_id}#{payer_id}#{date_of_service.isoformat()}"


@dataclass(frozen=True, slots=True)
class DayGuard:
    """Which check of the day: the practice's local day, the client, payer and date of service."""

    day: date
    client_id: str
    payer_id: str
    date_of_service: date
    inquiry: str = ""  # a digest of what the 270 asks: a coverage changed since is asked again


@dataclass(frozen=True, slots=True)
class Claim:
    """``new``: call the clearinghouse for ``check_id``; ``resume``: a crashed attempt of
    ``check_id`` (its 271 may be stored already); ``done``: today's check ``check_id`` stands."""

    kind: Literal["new", "resume", "done"]
    check_id: str


class EligibilityStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- the day guard --------------------------------------------------------------------------
    def claim(self, practice_id: str, guard: DayGuard, *, check_id: str, now: datetime, force: bool) -> Claim:
        pk = keys.practice_pk(practice_id)
        sk = guard_sk(guard.day, guard.client_id, guard.payer_id, guard.date_of_service)
        fresh = {"state": "in_flight", "check_id": check_id, "claimed_at": iso(now), "inquiry": guard.inquiry}
        try:
            self.table.put_new(
                {
                    "PK": pk,
                    "SK": sk,
                    "type": "eligibility_guard",
                    **fresh,
                    "expires_at_epoch": int((now + timedelta(days=_GUARD_DAYS)).timestamp()),
                }
            )
            return Claim("new", check_id)
        except ConditionFailed as exc:
            current = exc.current or {}
        return self._claim_taken(pk, sk, current, fresh, now=now, force=force)

    def _claim_taken(
        self, pk: str, sk: str, current: dict[str, Any], fresh: dict[str, str], *, now: datetime, force: bool
    ) -> Claim:
        state, old = current.get("state"), str(current.get("check_id", ""))
        if state == "done" and not force and current.get("inquiry") == fresh["inquiry"]:
            return Claim("done", old)
        if state == "in_flight":
            if now - parse_iso(str(current["claimed_at"])) < LEASE:
                raise EligibilityInFlightError("a check of this coverage is under way", check_id=old)
            # Resume the crashed attempt under its own id (and what it asked).
            taken = {**fresh, "check_id": old, "inquiry": str(current.get("inquiry", ""))}
            self._retake(pk, sk, current, taken)
            return Claim("resume", old)
        self._retake(pk, sk, current, fresh)  # done and forced, or failed: a new check
        return Claim("new", fresh["check_id"])

    def _retake(self, pk: str, sk: str, current: dict[str, Any], values: dict[str, str]) -> None:
        """Take the guard from the state read (a concurrent taker wins, this one is in flight)."""
        try:
            self.table.update(
                pk,
                sk,
                update="SET #state = :state, #check = :check, #claimed = :claimed, #inquiry = :inquiry",
                condition="#check = :old AND #claimed = :old_claimed",
                names={
                    "#state": "state",
                    "#check": "check_id",
                    "#claimed": "claimed_at",
                    "#inquiry": "inquiry",
                },
                values={
                    ":inquiry": values["inquiry"],
                    ":state": values["state"],
                    ":check": values["check_id"],
                    ":claimed": values["claimed_at"],
                    ":old": current["check_id"],
                    ":old_claimed": current["claimed_at"],
                },
            )
        except ConditionFailed as exc:
            raise EligibilityInFlightError(
                "a check of this coverage is under way", check_id=str((exc.current or {}).get("check_id"))
            ) from exc

    def release(
        self, practice_id: str, guard: DayGuard, *, check_id: str, state: Literal["done", "failed"]
    ) -> None:
        """The attempt ``check_id`` ended: done (stored) or failed (may be made again)."""
        try:
            self.table.update(
                keys.practice_pk(practice_id),
                guard_sk(guard.day, guard.client_id, guard.payer_id, guard.date_of_service),
                update="SET #state = :state",
                condition="#check = :check",
                names={"#state": "state", "#check": "check_id"},
                values={":state": state, ":check": check_id},
            )
        except ConditionFailed:
            return  # another attempt took the guard over meanwhile: its outcome stands

    # -- checks ---------------------------------------------------------------------------------
    def put_check(self, practice_id: str, check: EligibilityCheck) -> EligibilityCheck:
        """Written once: a re-run that stored it already writes nothing and gets the stored one."""
        try:
            self.table.put_new(
                {
                    "PK": keys.practice_pk(practice_id),
                    "SK": check_sk(check.client_id, check.id),
                    "type": "eligibility_check",
                    "coverage_id": check.coverage_id,
                    "status": check.status,
                    "checked_at": iso(check.checked_at),
                    "data": check.model_dump_json(),
                }
            )
        except ConditionFailed as exc:
            if exc.current is not None:
                return EligibilityCheck.model_validate_json(str(exc.current["data"]))
        return check

    def get_check(self, practice_id: str, client_id: str, check_id: str) -> EligibilityCheck:
        if not is_id(check_id, "elg"):
            raise EligibilityCheckNotFoundError("eligibility check not found")
        item = self.table.get(keys.practice_pk(practice_id), check_sk(client_id, check_id))
        if not item:
            raise EligibilityCheckNotFoundError("eligibility check not found")
        return EligibilityCheck.model_validate_json(str(item["data"]))

    def checks_of_client(self, practice_id: str, client_id: str) -> list[EligibilityCheck]:
        """The client's checks, newest first (one Query)."""
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=check_sk(client_id))
        return [EligibilityCheck.model_validate_json(str(i["data"])) for i in reversed(items)]

    # -- the batch ------------------------------------------------------------------------------
    def put_batch(self, practice_id: str, day: date, counts: dict[str, int], *, ran_at: datetime) -> None:
        """What the batch for ``day`` did (a re-run replaces it with its own counts)."""
        self.table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": f"ELIGBATCH#{day.isoformat()}",
                "type": "eligibility_batch",
                "ran_at": iso(ran_at),
                "counts": counts,
                "expires_at_epoch": int((ran_at + timedelta(days=90)).timestamp()),
            }
        )

    def batch(self, practice_id: str, day: date) -> dict[str, int] | None:
        item = self.table.get(keys.practice_pk(practice_id), f"ELIGBATCH#{day.isoformat()}")
        return {k: int(v) for k, v in item["counts"].items()} if item else None
