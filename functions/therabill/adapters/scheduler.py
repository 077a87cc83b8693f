"""EventBridge Scheduler: each practice's nightly schedules (the run at its cutoff, and the evening
summary hours before it), in the practice's IANA time zone. Scheduler evaluates the cron in that
zone, so the wall-clock hour holds across daylight-saving changes; the run id per local date makes
a firing the clocks repeat a resumption, not a second run."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill.core.errors import DependencyUnavailableError
from therabill.nightly.nights import hour_skipped_some_day, summary_hour
from therabill.practices.models import Practice


def run_schedule_name(practice_id: str) -> str:
    return f"nightly-run-{practice_id}"


def summary_schedule_name(practice_id: str) -> str:
    return f"nightly-summary-{practice_id}"


def dst_guard_schedule_name(practice_id: str) -> str:
    return f"nightly-run-dst-{practice_id}"


def desired_schedules(practice: Practice, today: date | None = None) -> list[dict[str, Any]]:
    """The schedules a practice should have (pure but for ``today``, default the current UTC
    date): name, cron, zone, state and target input.

    Scheduler skips a cron firing whose wall time the clocks spring over. Where the practice's
    cutoff hour is such a time on some day of the next two years (a 02:00 cutoff in New York or
    London), a guard fires an hour after the cutoff every day: on that night it starts the run,
    on every other night it finds the run begun (the run id is per local date) and only resumes
    it. Elsewhere the guard is kept disabled (the scheduler role may not delete schedules)."""
    hour, _ = summary_hour(practice.cutoff_hour, practice.summary_hours_before)
    guarded = hour_skipped_some_day(
        practice.time_zone, practice.cutoff_hour, today or datetime.now(UTC).date()
    )
    return [
        {
            "Name": run_schedule_name(practice.id),
            "ScheduleExpression": f"cron(0 {practice.cutoff_hour} * * ? *)",
            "ScheduleExpressionTimezone": practice.time_zone,
            "State": "ENABLED",
            "Input": {"practice_id": practice.id, "kind": "run"},
        },
        {
            "Name": summary_schedule_name(practice.id),
            "ScheduleExpression": f"cron(0 {hour} * * ? *)",
            "ScheduleExpressionTimezone": practice.time_zone,
            "State": "ENABLED",
            "Input": {"practice_id": practice.id, "kind": "summary"},
        },
        {
            "Name": dst_guard_schedule_name(practice.id),
            "ScheduleExpression": f"cron(0 {(practice.cutoff_hour + 1) % 24} * * ? *)",
            "ScheduleExpressionTimezone": practice.time_zone,
            "State": "ENABLED" if guarded else "DISABLED",
            "Input": {"practice_id": practice.id, "kind": "run", "trigger": "dst-guard"},
        },
    ]


class NightlySchedules:
    def __init__(self, client: Any, *, group: str, target_arn: str, role_arn: str) -> None:
        self._client = client
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn
        self.request_count = 0

    def sync(self, practice: Practice) -> None:
        """Create or update the schedules (idempotent: the same settings write the same)."""
        for spec in desired_schedules(practice):
            args = {
                "Name": spec["Name"],
                "GroupName": self._group,
                "ScheduleExpression": spec["ScheduleExpression"],
                "ScheduleExpressionTimezone": spec["ScheduleExpressionTimezone"],
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": spec["State"],
                "Target": {
                    "Arn": self._target_arn,
                    "RoleArn": self._role_arn,
                    "Input": json.dumps(spec["Input"], separators=(",", ":")),
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
                },
                "Description": "Therabill nightly billing",
            }
            try:
                self.request_count += 1
                self._client.create_schedule(**args)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConflictException":
                    raise DependencyUnavailableError("the scheduler could not be reached") from exc
                try:
                    self.request_count += 1
                    self._client.update_schedule(**args)
                except (ClientError, BotoCoreError) as again:
                    raise DependencyUnavailableError("the scheduler could not be reached") from again
            except BotoCoreError as exc:
                raise DependencyUnavailableError("the scheduler could not be reached") from exc

    def run_once(self, practice_id: str, *, at: datetime, trigger: str, run_date: date) -> None:
        """A one-time schedule that fires nightly-dispatch now for this practice ("run now"),
        naming the run's date (it resumes that run, however late it fires), deleted by Scheduler
        once it has fired."""
        when = at.astimezone(UTC)
        try:
            self.request_count += 1
            self._client.create_schedule(
                Name=f"nightly-now-{practice_id}-{when:%Y%m%d%H%M%S}",
                GroupName=self._group,
                ScheduleExpression=f"at({when:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self._target_arn,
                    "RoleArn": self._role_arn,
                    "Input": json.dumps(
                        {
                            "practice_id": practice_id,
                            "kind": "run",
                            "trigger": trigger,
                            "run_date": str(run_date),
                        },
                        separators=(",", ":"),
                    ),
                },
                Description="Therabill nightly billing: run now",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConflictException":
                return  # the same second's request already scheduled it
            raise DependencyUnavailableError("the scheduler could not be reached") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailableError("the scheduler could not be reached") from exc

    def practice_ids(self) -> list[str]:
        """Every practice with a nightly run schedule in the group (each practice has one from its
        creation): the operator's list of practices, never a Scan of the table."""
        found: list[str] = []
        prefix, dst = run_schedule_name(""), dst_guard_schedule_name("")
        args: dict[str, Any] = {"GroupName": self._group, "NamePrefix": prefix}
        while True:
            try:
                self.request_count += 1
                out = self._client.list_schedules(**args)
            except ClientError as exc:
                raise DependencyUnavailableError("the scheduler could not be reached") from exc
            names = [str(s["Name"]) for s in out.get("Schedules", [])]
            found += [n.removeprefix(prefix) for n in names if not n.startswith(dst)]
            if not out.get("NextToken"):
                return sorted(set(found))
            args["NextToken"] = out["NextToken"]

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            self.request_count += 1
            out: dict[str, Any] = self._client.get_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise DependencyUnavailableError("the scheduler could not be reached") from exc
        return out


def eligibility_schedule_name(practice_id: str, coverage_id: str, version: int) -> str:
    """At most 64 characters (Scheduler's limit): the ids hashed, so one name per coverage version."""
    digest = hashlib.sha256(f"{practice_id}:{coverage_id}:{version}".encode()).hexdigest()[:40]
    return f"eligibility-now-{digest}"


class OneTimeSchedule:
    """A one-time schedule in the group that fires a function once with a JSON body, a little
    later, retried by Scheduler for an hour, deleted once fired. Its name is its identity: the same
    name asked again is the one asked already (Scheduler's ConflictException), not a second."""

    def __init__(self, client: Any, *, group: str, target_arn: str, role_arn: str) -> None:
        self._client = client
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn

    def create(self, name: str, body: dict[str, str], *, delay: timedelta, description: str) -> None:
        when = datetime.now(UTC) + delay
        try:
            self._client.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=f"at({when:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self._target_arn,
                    "RoleArn": self._role_arn,
                    "Input": json.dumps(body, separators=(",", ":")),
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
                },
                Description=description,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConflictException":
                return  # asked for already
            raise DependencyUnavailableError("the scheduler could not be reached") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailableError("the scheduler could not be reached") from exc


class EligibilitySchedules(OneTimeSchedule):
    """One-time schedules that fire the eligibility function for one coverage (added or changed),
    so the coverage request never waits on the clearinghouse. The same coverage version asked
    twice is one schedule (its name)."""

    def request(self, practice_id: str, client_id: str, coverage_id: str, *, version: int) -> None:
        body = {
            "kind": "coverage",
            "practice_id": practice_id,
            "client_id": client_id,
            "coverage_id": coverage_id,
        }
        self.create(
            eligibility_schedule_name(practice_id, coverage_id, version),
            body,
            delay=timedelta(minutes=1),
            description="Therabill eligibility check: coverage added or changed",
        )


def completion_schedule_name(practice_id: str, session_id: str, trigger: str) -> str:
    """At most 64 characters: the ids hashed, so one name per session and trigger."""
    digest = hashlib.sha256(f"{practice_id}:{session_id}:{trigger}".encode()).hexdigest()[:40]
    return f"billing-now-{digest}"


class CompletionSchedules(OneTimeSchedule):
    """One-time schedules that fire nightly-dispatch for one session billed at completion, a few
    minutes after the step that made it Ready. The same step for the same session again is one
    schedule (its name)."""

    DELAY = timedelta(minutes=2)

    def request(self, practice_id: str, client_id: str, session_id: str, *, trigger: str) -> None:
        body = {
            "kind": "session",
            "practice_id": practice_id,
            "client_id": client_id,
            "session_id": session_id,
        }
        self.create(
            completion_schedule_name(practice_id, session_id, trigger),
            body,
            delay=self.DELAY,
            description="Therabill billing at completion",
        )
