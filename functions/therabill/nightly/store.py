"""Nightly items: the run (``NIGHTRUN#<date>``, in the sparse ``NIGHTOPEN`` index until done),
its items (``NIGHTITEM#<date>#<ses>``) and staff holds (``NIGHTHOLD#<date>#<ses>``). The plan
transaction, the item-done transaction (with the session's writes) and the report steps."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from therabill import contract
from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError
from therabill.core.writes import Write
from therabill.nightly.models import BATCH_SIZE, NightRun, OpenRun, Report, RunItem, run_id

_DONE_ITEM_WRITES = 2  # the item's update and the run's counter come before the extra writes


class ItemAlreadyDoneError(ConflictError):
    """The item is done already: a duplicate message counted it."""

    def __init__(self, session_id: str) -> None:
        super().__init__("the run item is done already", session_id=session_id)
        self.session_id = session_id


class FinishWriteFailedError(ConflictError):
    """One of the extra writes given to ``item_done`` failed its condition (``extra_index``: its
    position among them); nothing was written."""

    def __init__(self, session_id: str, extra_index: int) -> None:
        super().__init__(
            "a write finishing the run item failed", session_id=session_id, extra_index=extra_index
        )
        self.session_id = session_id
        self.extra_index = extra_index


class RunNotReportingError(ConflictError):
    """The run left ``reporting`` before its report was stored."""

    def __init__(self, run_date: date) -> None:
        super().__init__("the run is not reporting", run_date=run_date.isoformat())
        self.run_date = run_date


def _report_counts(report: Report | None) -> tuple[int, int, int]:
    """What a finished run's report counted: (billed, failed, incomplete)."""
    return (report.items_billed, len(report.failures), report.incomplete) if report else (0, 0, 0)


def _counted(value: Any) -> tuple[int, int, int]:
    if not value:
        return (0, 0, 0)
    billed, failed, incomplete = (int(v) for v in value)
    return (billed, failed, incomplete)


def _run_from(practice_id: str, item: dict[str, Any]) -> NightRun:
    report = item.get("report")
    return NightRun(
        id=item["run_id"],
        practice_id=practice_id,
        run_date=date.fromisoformat(item["run_date"]),
        status=item["status"],
        trigger=item.get("trigger", "schedule"),
        started_at=parse_iso(item["started_at"]),
        planned=int(item.get("planned", 0)),
        finished=int(item.get("finished", 0)),
        moved_from=tuple(item.get("moved_from") or ()),
        report=Report.model_validate(json.loads(report)) if report else None,
        finished_at=parse_iso(item["finished_at"]) if item.get("finished_at") else None,
        held=tuple(item.get("held") or ()),
        incomplete=int(item.get("incomplete", 0)),
        skipped=int(item.get("skipped", 0)),
        selection=tuple(item["selection"]) if item.get("selection") is not None else None,
        waiting=int(item.get("waiting", 0)),
        later=int(item.get("later", 0)),
        extended=int(item.get("extended", 0)),
        counted=_counted(item.get("counted")),
    )


def _item_from(item: dict[str, Any]) -> RunItem:
    return RunItem.model_validate(
        {k: item[k] for k in RunItem.model_fields if k in item and item[k] is not None}
    )


class NightlyStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- runs ---------------------------------------------------------------------------------------
    def find_run(self, practice_id: str, run_date: date) -> NightRun | None:
        item = self._table.get(keys.practice_pk(practice_id), keys.nightly_run_sk(run_date.isoformat()))
        return _run_from(practice_id, item) if item else None

    def list_runs(
        self, practice_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[NightRun], str | None]:
        page = self._table.query(
            keys.practice_pk(practice_id),
            prefix=keys.NIGHTLY_RUN_PREFIX,
            limit=limit,
            cursor=cursor,
            forward=False,
        )
        return [_run_from(practice_id, i) for i in page.items], page.cursor

    def open_runs(self, *, limit: int) -> list[OpenRun]:
        """Runs not yet done, across practices, oldest first (the sparse index)."""
        page = self._table.query(keys.NIGHTLY_OPEN_GSI, index=contract.GSI1_NAME, limit=limit)
        return [
            OpenRun(
                practice_id=keys.practice_id_of(str(row["PK"])),
                run_date=str(row["run_date"]),
                started_at=parse_iso(str(row["started_at"])),
            )
            for row in page.items
        ]

    def start_run(
        self,
        practice_id: str,
        run_date: date,
        *,
        trigger: str,
        moved_from: tuple[str, ...],
        at: datetime,
        selection: Sequence[str] | None = None,
    ) -> tuple[NightRun, bool]:
        """The run, created once per practice and date: (the run, whether this call created it).
        ``selection``: a staff run's chosen sessions (None: every Ready one)."""
        started = iso(at)
        item = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.nightly_run_sk(run_date.isoformat()),
            "type": "nightly_run",
            "run_id": run_id(practice_id, run_date),
            "run_date": run_date.isoformat(),
            "status": "planning",
            "trigger": trigger,
            "started_at": started,
            "GSI1PK": keys.NIGHTLY_OPEN_GSI,
            "GSI1SK": f"{started}#{practice_id}#{run_date.isoformat()}",
            "planned": 0,
            "finished": 0,
            "moved_from": list(moved_from),
        }
        if selection is not None:
            item["selection"] = list(selection)
        try:
            self._table.put_new(item)
        except ConditionFailed as exc:
            if exc.current is None:
                raise
            return _run_from(practice_id, exc.current), False
        return _run_from(practice_id, item), True

    # -- planning -----------------------------------------------------------------------------------
    def add_items(self, practice_id: str, run_date: date, items: Sequence[RunItem]) -> None:
        """The plan's items, put if absent, ``BATCH_SIZE`` to a transaction; a resumed plan keeps
        the rows already written."""
        pk = keys.practice_pk(practice_id)
        rows = [
            {
                "PK": pk,
                "SK": keys.nightly_item_sk(run_date.isoformat(), i.session_id),
                "type": "nightly_item",
                **i.model_dump(mode="json", exclude_none=True),
            }
            for i in items
        ]
        for chunk_start in range(0, len(rows), BATCH_SIZE):
            chunk = rows[chunk_start : chunk_start + BATCH_SIZE]
            try:
                self._table.transact(
                    [Write(kind="put", item=r, condition="attribute_not_exists(PK)") for r in chunk]
                )
            except ConditionFailed:
                for r in chunk:
                    with contextlib.suppress(ConditionFailed):
                        self._table.put_new(r)

    def mark_planned(
        self,
        practice_id: str,
        run_date: date,
        *,
        planned: int,
        held: list[str],
        incomplete: int,
        skipped: int,
        waiting: int = 0,
        later: int = 0,
    ) -> None:
        """planning → running with the plan's counts (a duplicate plan message got there first: nothing)."""
        counts = {"planned": planned, "held": held, "incomplete": incomplete, "skipped": skipped}
        counts.update(waiting=waiting, later=later)  # written each time: an extended run plans again
        self._move_run(practice_id, run_date, "planning", "running", counts)

    # -- items --------------------------------------------------------------------------------------
    def items(self, practice_id: str, run_date: date) -> list[RunItem]:
        rows = self._table.query_all(
            keys.practice_pk(practice_id), prefix=keys.nightly_item_prefix(run_date.isoformat())
        )
        return [_item_from(r) for r in rows]

    def item(self, practice_id: str, run_date: date, session_id: str) -> RunItem | None:
        row = self._table.get(
            keys.practice_pk(practice_id), keys.nightly_item_sk(run_date.isoformat(), session_id)
        )
        return _item_from(row) if row else None

    def item_done(
        self, practice_id: str, run_date: date, item: RunItem, *, extra: Sequence[Write] = ()
    ) -> None:
        """One transaction: the item pending → done with its outcome, the run's ``finished``
        counter, and ``extra`` (another capability's writes). Raises ``ItemAlreadyDoneError``
        (a duplicate got there first) or ``FinishWriteFailedError`` (an extra write's condition)."""
        pk = keys.practice_pk(practice_id)
        data = item.model_dump(mode="json", exclude_none=True)
        sets = {k: v for k, v in data.items() if k not in ("session_id", "client_id", "status")}
        names = {"#s": "status", **{f"#{k}": k for k in sets}}
        values: dict[str, Any] = {
            ":done": "done",
            ":pending": "pending",
            **{f":{k}": v for k, v in sets.items()},
        }
        try:
            self._table.transact(
                [
                    Write(
                        kind="update",
                        key=Table.key(pk, keys.nightly_item_sk(run_date.isoformat(), item.session_id)),
                        update="SET #s = :done, " + ", ".join(f"#{k} = :{k}" for k in sets),
                        condition="#s = :pending",
                        names=names,
                        values=values,
                    ),
                    Write(
                        kind="update",
                        key=Table.key(pk, keys.nightly_run_sk(run_date.isoformat())),
                        update="ADD finished :one",
                        values={":one": 1},
                    ),
                    *extra,
                ]
            )
        except ConditionFailed as exc:
            if exc.index is not None and exc.index >= _DONE_ITEM_WRITES:
                raise FinishWriteFailedError(item.session_id, exc.index - _DONE_ITEM_WRITES) from exc
            raise ItemAlreadyDoneError(item.session_id) from exc

    # -- the report ---------------------------------------------------------------------------------
    def extend_run(
        self, practice_id: str, run_date: date, *, selection: Sequence[str], at: datetime, run: NightRun
    ) -> bool:
        """A done run bills more: staff chose sessions it did not bill (``selection``: what it
        billed and the new ones). done → planning, back in the open-runs index from now (its
        ``started_at``: the overdue alarm counts from the extension), counted (a concurrent
        extension got there first: False), with what its report counted until now."""
        started = iso(at)
        extended = run.extended
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.nightly_run_sk(run_date.isoformat()),
                update="SET #s = :planning, #sel = :sel, #ext = :next, #cnt = :counted, started_at = :at, "
                "GSI1PK = :open, GSI1SK = :gsk",
                condition="#s = :done AND (attribute_not_exists(#ext) OR #ext = :was)",
                names={"#s": "status", "#sel": "selection", "#ext": "extended", "#cnt": "counted"},
                values={
                    ":planning": "planning",
                    ":done": "done",
                    ":sel": list(selection),
                    ":next": extended + 1,
                    ":was": extended,
                    ":counted": list(_report_counts(run.report)),
                    ":at": started,
                    ":open": keys.NIGHTLY_OPEN_GSI,
                    ":gsk": f"{started}#{practice_id}#{run_date.isoformat()}",
                },
            )
        except ConditionFailed:
            return False
        return True

    def begin_report(self, practice_id: str, run_date: date) -> None:
        """running → reporting (once: another message may have got there first)."""
        self._move_run(practice_id, run_date, "running", "reporting")

    def store_report(self, practice_id: str, run_date: date, report: Report) -> None:
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.nightly_run_sk(run_date.isoformat()),
                update="SET report = :r",
                condition="#s = :reporting",
                names={"#s": "status"},
                values={":r": report.model_dump_json(), ":reporting": "reporting"},
            )
        except ConditionFailed as exc:
            raise RunNotReportingError(run_date) from exc

    def finish_run(self, practice_id: str, run_date: date, *, at: datetime) -> bool:
        """reporting → done, out of the open-runs index (once): whether this call moved it."""
        return self._move_run(
            practice_id, run_date, "reporting", "done", {"finished_at": iso(at)}, open_index=False
        )

    def _move_run(
        self,
        practice_id: str,
        run_date: date,
        frm: str,
        to: str,
        sets: dict[str, Any] | None = None,
        *,
        open_index: bool = True,
    ) -> bool:
        """One status move of the run, conditioned on ``frm``, with ``sets`` written alongside; a
        run already moved on (a duplicate message got there first) is left as it is (False).
        ``open_index`` False: the run leaves the open-runs index (GSI1)."""
        sets = sets or {}
        update = "SET " + ", ".join(["#s = :to", *(f"#{k} = :{k}" for k in sets)])
        if not open_index:
            update += " REMOVE GSI1PK, GSI1SK"
        try:
            self._table.update(
                keys.practice_pk(practice_id),
                keys.nightly_run_sk(run_date.isoformat()),
                update=update,
                condition="#s = :from",
                names={"#s": "status", **{f"#{k}": k for k in sets}},
                values={":to": to, ":from": frm, **{f":{k}": v for k, v in sets.items()}},
            )
        except ConditionFailed:
            return False
        return True

    # -- holds --------------------------------------------------------------------------------------
    def held(self, practice_id: str, run_date: date) -> set[str]:
        rows = self._table.query_all(
            keys.practice_pk(practice_id), prefix=keys.nightly_hold_prefix(run_date.isoformat())
        )
        return {r["session_id"] for r in rows}

    def hold(self, practice_id: str, run_date: date, session_id: str, *, by: str, at: datetime) -> None:
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.nightly_hold_sk(run_date.isoformat(), session_id),
                "type": "nightly_hold",
                "session_id": session_id,
                "held_by": by,
                "held_at": iso(at),
            }
        )

    def release(self, practice_id: str, run_date: date, session_id: str) -> None:
        self._table.delete(
            keys.practice_pk(practice_id), keys.nightly_hold_sk(run_date.isoformat(), session_id)
        )
