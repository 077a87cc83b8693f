"""What the nightly run is given from outside: the fan-out queue, the one-time firing the staff
API uses, the insurance capability's claims port, and the hooks tests set (crash injection)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from therabill.core.errors import DependencyUnavailableError
from therabill.practices.models import Practice
from therabill.sessions.models import Session


class NightlyQueue(Protocol):
    def send(self, body: str, *, dedup_id: str) -> None: ...


class ClaimSubmitter(Protocol):
    """The insurance capability's port: turn a ready insured session into a claim, once per
    session (idempotent: the same session again returns the same claim id)."""

    def submit(self, practice: Practice, session: Session, *, run_id: str) -> str: ...


class RunOnce(Protocol):
    """Fires nightly-dispatch once for a practice (a one-time EventBridge Scheduler schedule):
    how the staff API, which cannot reach the queue, starts a run now. The firing names the run's
    date (``run_date``): it resumes that run, whenever it fires."""

    def run_once(self, practice_id: str, *, at: datetime, trigger: str, run_date: date) -> None: ...


class Hooks:
    """Shared by the nightly modules: the claims port (None until the insurance capability exists:
    insured items wait) and ``checkpoint``, called with the name of each step boundary (crash
    injection in tests)."""

    def __init__(self, *, claims: ClaimSubmitter | None = None) -> None:
        self.claims = claims
        self.checkpoint: Callable[[str], None] = lambda step: None


class Messages:
    """The fan-out queue (None where it is not reachable: the staff API). Replaceable: a test, or
    a worker, connects another with ``use``."""

    def __init__(self, *, queue: NightlyQueue | None) -> None:
        self._queue = queue

    @property
    def connected(self) -> bool:
        return self._queue is not None

    def use(self, queue: NightlyQueue | None) -> None:
        self._queue = queue

    @property
    def queue(self) -> NightlyQueue | None:
        return self._queue

    def send(self, message: dict[str, Any], dedup: str) -> None:
        if self._queue is None:
            raise DependencyUnavailableError("the nightly queue is not configured")
        self._queue.send(json.dumps(message, separators=(",", ":")), dedup_id=dedup)
