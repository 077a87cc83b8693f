"""The local EventBridge Scheduler: fires the schedules stored in the emulator at their times.

moto stores schedules (CreateSchedule/UpdateSchedule/DeleteSchedule work) but never fires them.
This reads them back from the emulated Scheduler (``list_schedules`` in the Therabill group, then
``get_schedule`` for new or changed ones, every ``refresh_seconds``), computes each one's next
firing time with :mod:`devstack.schedule_expressions`, and at each due time invokes the target:

- a Lambda function ARN whose function name ends with a contract function name -> that function's
  handler, in-process, with the target ``Input`` (JSON-decoded) as the event, or
  ``apigw.scheduled_event(name)`` when there is no Input;
- an SQS queue ARN -> ``SendMessage`` of the Input to that queue in the emulator.

Context attributes in the Input (``<aws.scheduler.scheduled-time>``, ``<aws.scheduler.schedule-arn>``,
``<aws.scheduler.execution-id>``, ``<aws.scheduler.attempt-number>``) are substituted as AWS does.
``State=DISABLED`` schedules do not fire; StartDate/EndDate bound recurring ones; a one-time
schedule with ``ActionAfterCompletion=DELETE`` is deleted after it fires. Differences from AWS,
on purpose: targets fire at the exact time (no 60-second spread, FlexibleTimeWindow ignored), a
failed invocation is logged, not retried (RetryPolicy and dead-letter config are ignored), and
missed occurrences (the machine slept) fire once, not once each.

``fire_now(name)`` invokes a schedule's target at once, whatever its state or time.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack import apigw
from devstack.functions import (
    FunctionRegistry,
    HandlerUnavailableError,
    function_name_for_arn,
    local_function_arn,
)
from devstack.schedule_expressions import (
    AtExpression,
    ScheduleExpression,
    ScheduleExpressionError,
    next_fire_time,
    parse_expression,
)
from therabill import contract

log = logging.getLogger("devstack.scheduler")

LOCAL_SCHEDULER_ROLE_ARN = "arn:aws:iam::123456789012:role/therabill-local-scheduler"
CATCH_UP = timedelta(seconds=60)  # a schedule seen up to a minute after it was due still fires

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


class ScheduleNotFoundError(LookupError):
    pass


class UnsupportedTargetError(ValueError):
    pass


@dataclass
class _Tracked:
    name: str
    modified: datetime | None
    definition: dict[str, Any]
    parsed: ScheduleExpression | None
    cursor: datetime  # fire only strictly after this
    next_fire: datetime | None = None
    last_fired: datetime | None = None
    fire_count: int = 0
    last_error: str | None = None
    completed: bool = False


class LocalScheduler:
    def __init__(
        self,
        session: Any,
        registry: FunctionRegistry,
        *,
        group: str = contract.SCHEDULE_GROUP_NAME,
        refresh_seconds: float = 2.0,
        clock: Clock = _utc_now,
        max_workers: int = 4,
    ) -> None:
        self._scheduler = session.client("scheduler")
        self._sqs = session.client("sqs")
        self._registry = registry
        self.group = group
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._tracked: dict[str, _Tracked] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._max_workers = max_workers
        self._started_at = clock()
        self.fired: list[tuple[str, datetime]] = []  # (schedule, scheduled time), for inspection

    # ------------------------------------------------------------------ the CDK app's schedules
    def install_contract_schedules(self) -> list[str]:
        """Create (or update) the schedules the CDK app creates, targeting the local functions."""
        names = []
        for name, expression, function in contract.SCHEDULES:
            params: dict[str, Any] = {
                "Name": name,
                "GroupName": self.group,
                "ScheduleExpression": expression,
                "ScheduleExpressionTimezone": "UTC",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED",
                "Target": {
                    "Arn": local_function_arn(function),
                    "RoleArn": LOCAL_SCHEDULER_ROLE_ARN,
                    "Input": json.dumps({"schedule": name}),
                },
            }
            try:
                self._scheduler.create_schedule(**params)
            except self._scheduler.exceptions.ConflictException:
                self._scheduler.update_schedule(**params)
            names.append(name)
        self.wake()
        return names

    # ------------------------------------------------------------------ reading the emulator
    def _list(self) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"GroupName": self.group}
        while True:
            page = self._scheduler.list_schedules(**kwargs)
            summaries.extend(s for s in page.get("Schedules", []) if s.get("GroupName") == self.group)
            token = page.get("NextToken")
            if not token:
                return summaries
            kwargs["NextToken"] = token

    def refresh(self) -> None:
        """Pick up schedules created, updated or deleted since the last look."""
        now = self._clock()
        seen: set[str] = set()
        for summary in self._list():
            name = summary["Name"]
            seen.add(name)
            modified = _as_utc(summary.get("LastModificationDate"))
            with self._lock:
                tracked = self._tracked.get(name)
            if tracked is not None and tracked.modified == modified and modified is not None:
                continue
            try:
                definition = self._scheduler.get_schedule(Name=name, GroupName=self.group)
            except self._scheduler.exceptions.ResourceNotFoundException:
                continue
            self._track(name, modified, definition, tracked, now)
        with self._lock:
            for name in list(self._tracked):
                if name not in seen:
                    log.info("schedule %s deleted", name)
                    del self._tracked[name]

    def _track(
        self,
        name: str,
        modified: datetime | None,
        definition: dict[str, Any],
        previous: _Tracked | None,
        now: datetime,
    ) -> None:
        created = _as_utc(definition.get("CreationDate")) or now
        floor = max(self._started_at, modified or created) - CATCH_UP
        cursor = max(floor, previous.cursor) if previous is not None else floor
        parsed: ScheduleExpression | None
        error = None
        try:
            parsed = parse_expression(definition["ScheduleExpression"])
        except ScheduleExpressionError as exc:
            parsed, error = None, str(exc)
            log.error("schedule %s: %s", name, exc)
        tracked = _Tracked(
            name=name,
            modified=modified,
            definition=definition,
            parsed=parsed,
            cursor=cursor,
            last_error=error,
        )
        if previous is not None:
            tracked.last_fired, tracked.fire_count = previous.last_fired, previous.fire_count
            if (
                isinstance(parsed, AtExpression)
                and previous.completed
                and previous.definition.get("ScheduleExpression") == definition["ScheduleExpression"]
                and previous.definition.get("ScheduleExpressionTimezone")
                == definition.get("ScheduleExpressionTimezone")
            ):
                tracked.completed = True
        tracked.next_fire = self._next(tracked, cursor)
        with self._lock:
            self._tracked[name] = tracked
        log.info(
            "schedule %s: %s (%s) next at %s",
            name,
            definition["ScheduleExpression"],
            definition.get("State"),
            tracked.next_fire,
        )

    def _next(self, tracked: _Tracked, after: datetime) -> datetime | None:
        if tracked.parsed is None or tracked.completed:
            return None
        d = tracked.definition
        try:
            return next_fire_time(
                tracked.parsed,
                after,
                time_zone=d.get("ScheduleExpressionTimezone") or "UTC",
                anchor=_as_utc(d.get("CreationDate")),
                start_date=_as_utc(d.get("StartDate")),
                end_date=_as_utc(d.get("EndDate")),
            )
        except ScheduleExpressionError as exc:
            tracked.last_error = str(exc)
            return None

    # ------------------------------------------------------------------ firing
    def _target_event(
        self, definition: dict[str, Any], scheduled: datetime, attempt: int = 1
    ) -> tuple[dict[str, Any], str | None]:
        target = definition["Target"]
        raw = target.get("Input")
        if raw is not None:
            replacements = {
                "<aws.scheduler.schedule-arn>": definition.get("Arn", ""),
                "<aws.scheduler.scheduled-time>": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "<aws.scheduler.execution-id>": str(uuid.uuid4()),
                "<aws.scheduler.attempt-number>": str(attempt),
            }
            for placeholder, value in replacements.items():
                raw = raw.replace(placeholder, value)
        return target, raw

    def invoke_target(self, definition: dict[str, Any], scheduled: datetime) -> Any:
        """Deliver one invocation of a schedule's target; returns what the target returned."""
        target, raw = self._target_event(definition, scheduled)
        arn: str = target["Arn"]
        service = arn.split(":")[2] if arn.startswith("arn:") and arn.count(":") >= 5 else ""
        if service == "lambda":
            function = function_name_for_arn(arn)
            event: Any
            if raw is None:
                event = apigw.scheduled_event(definition["Name"], at=scheduled)
            else:
                try:
                    event = json.loads(raw)
                except json.JSONDecodeError:
                    event = raw
            log.info("schedule %s -> %s", definition["Name"], function)
            return self._registry.invoke(function, event)
        if service == "sqs":
            parts = arn.split(":")
            queue_url = self._sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])[
                "QueueUrl"
            ]
            body = (
                raw
                if raw is not None
                else json.dumps(apigw.scheduled_event(definition["Name"], at=scheduled))
            )
            params: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
            group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group_id:
                params["MessageGroupId"] = group_id
            log.info("schedule %s -> queue %s", definition["Name"], parts[5])
            return self._sqs.send_message(**params)
        raise UnsupportedTargetError(f"schedule {definition['Name']}: unsupported target {arn}")

    def _fire(self, tracked: _Tracked, scheduled: datetime) -> None:
        definition = tracked.definition
        try:
            self.invoke_target(definition, scheduled)
            tracked.last_error = None
        except HandlerUnavailableError as exc:
            tracked.last_error = str(exc)
            log.warning("schedule %s: target not available: %s", tracked.name, exc)
        except Exception as exc:
            tracked.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("schedule %s failed", tracked.name)
        finished = isinstance(tracked.parsed, AtExpression) or tracked.next_fire is None
        if finished and definition.get("ActionAfterCompletion") == "DELETE":
            try:
                self._scheduler.delete_schedule(Name=tracked.name, GroupName=self.group)
            except Exception:
                log.exception("could not delete completed schedule %s", tracked.name)

    def tick(self) -> list[str]:
        """Fire every enabled schedule that is due; returns the names fired (in the pool)."""
        now = self._clock()
        due: list[tuple[_Tracked, datetime]] = []
        with self._lock:
            for tracked in self._tracked.values():
                when = tracked.next_fire
                if when is None or when > now:
                    continue
                if tracked.definition.get("State", "ENABLED") != "ENABLED":
                    tracked.cursor = max(when, now)
                    tracked.next_fire = self._next(tracked, tracked.cursor)
                    continue
                tracked.last_fired = when
                tracked.fire_count += 1
                tracked.cursor = max(when, now)
                if isinstance(tracked.parsed, AtExpression):
                    tracked.completed = True
                tracked.next_fire = self._next(tracked, tracked.cursor)
                self.fired.append((tracked.name, when))
                due.append((tracked, when))
        for tracked, when in due:
            if self._pool is not None:
                self._pool.submit(self._fire, tracked, when)
            else:
                self._fire(tracked, when)
        return [t.name for t, _ in due]

    def fire_now(self, name: str) -> dict[str, Any]:
        """Invoke the schedule's target now (synchronously), whatever its state and time."""
        try:
            definition = self._scheduler.get_schedule(Name=name, GroupName=self.group)
        except self._scheduler.exceptions.ResourceNotFoundException as exc:
            raise ScheduleNotFoundError(name) from exc
        now = self._clock()
        result = self.invoke_target(definition, now)
        with self._lock:
            self.fired.append((name, now))
        return {
            "schedule": name,
            "target": definition["Target"]["Arn"],
            "scheduled_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "result": result,
        }

    # ------------------------------------------------------------------ the loop
    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "name": t.name,
                    "expression": t.definition.get("ScheduleExpression"),
                    "time_zone": t.definition.get("ScheduleExpressionTimezone"),
                    "state": t.definition.get("State"),
                    "target": t.definition.get("Target", {}).get("Arn"),
                    "next_fire": t.next_fire.isoformat() if t.next_fire else None,
                    "last_fired": t.last_fired.isoformat() if t.last_fired else None,
                    "fire_count": t.fire_count,
                    "last_error": t.last_error,
                }
                for t in sorted(self._tracked.values(), key=lambda t: t.name)
            ]

    def wake(self) -> None:
        """Re-read the schedules now instead of at the next refresh."""
        self._wake.set()

    def _run(self) -> None:
        next_refresh = self._clock()
        while not self._stop.is_set():
            now = self._clock()
            if now >= next_refresh or self._wake.is_set():
                self._wake.clear()
                try:
                    self.refresh()
                except Exception:
                    log.exception("reading schedules failed")
                next_refresh = self._clock() + timedelta(seconds=self._refresh_seconds)
            try:
                self.tick()
            except Exception:
                log.exception("firing schedules failed")
            with self._lock:
                upcoming = [t.next_fire for t in self._tracked.values() if t.next_fire]
            wake_at = min([next_refresh, *upcoming])
            delay = max(0.0, min((wake_at - self._clock()).total_seconds(), self._refresh_seconds))
            self._wake.wait(delay)
            if self._stop.is_set():
                break

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._started_at = self._clock()
        self._pool = ThreadPoolExecutor(
            max_workers=self._max_workers, thread_name_prefix="local-scheduler-target"
        )
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
