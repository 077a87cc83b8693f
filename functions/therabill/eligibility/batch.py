"""The batch the day before: each practice's sessions of tomorrow (its local day, pattern S7),
each insured client's primary coverage checked once for that date (bounded concurrency), and what
it did recorded (``ELIGBATCH#<date>``). A re-run checks nobody twice: the day guard answers for
every client checked already."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from therabill.clients.service import ClientService
from therabill.core.clock import Clock, local_date, zone
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from therabill.coverage.models import standing
from therabill.coverage.service import CoverageService
from therabill.eligibility.errors import EligibilityInFlightError, EligibilityRefusedError
from therabill.eligibility.service import EligibilityService
from therabill.observability import logger
from therabill.practices.service import PracticeService
from therabill.sessions.service import SessionService

# Sessions that may still take place tomorrow.
_UPCOMING = frozenset({"booked", "awaiting_payment", "checked_in"})
CONCURRENCY = 4  # checks in flight at once (each waits on a payer for up to 12 s)
# The practice's local hour the recurring schedule's firing runs its batch for the next day.
BATCH_HOUR = 6


class EligibilityBatch:
    def __init__(
        self,
        *,
        checks: EligibilityService,
        sessions: SessionService,
        clients: ClientService,
        coverage: CoverageService,
        practices: PracticeService,
        clock: Clock,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._checks = checks
        self._sessions = sessions
        self._clients = clients
        self._coverage = coverage
        self._practices = practices
        self._clock = clock
        self._concurrency = concurrency

    def due(self, practice_id: str, at: datetime | None = None) -> bool:
        """Whether the hourly firing ``at`` (default now) is the practice's batch hour, in its own
        zone."""
        practice = self._practices.get(practice_id)
        return (at or self._clock()).astimezone(zone(practice.time_zone)).hour == BATCH_HOUR

    def run(self, practice_id: str) -> dict[str, int]:
        """Check tomorrow's insured clients; the counts by outcome (also stored)."""
        practice = self._practices.get(practice_id)
        tomorrow = local_date(self._clock(), practice.time_zone) + timedelta(days=1)
        targets = self.targets(practice_id, tomorrow)
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            outcomes = Counter(pool.map(lambda t: self._one(practice_id, t, tomorrow), targets))
        counts = {"clients": len(targets), **outcomes}
        self._checks.store.put_batch(practice_id, tomorrow, counts, ran_at=self._clock())
        logger.info("eligibility batch", practice_id=practice_id, day=tomorrow.isoformat(), counts=counts)
        return counts

    def targets(self, practice_id: str, day: date) -> list[tuple[str, str]]:
        """(client, primary coverage) for each client insured on ``day`` with a session then."""
        sessions = [s for s in self._sessions.list_day(practice_id, day) if s.status in _UPCOMING]
        client_ids = list(dict.fromkeys(s.client_id for s in sessions))
        coverages = self._coverage.all_of_practice(practice_id) if client_ids else {}
        out: list[tuple[str, str]] = []
        for client_id in client_ids:
            client = self._clients.get(practice_id, client_id)
            found = standing(client.billing_type, coverages.get(client_id, []), day)
            if found.insured and found.primary is not None:
                out.append((client_id, found.primary.id))
        return out

    def _one(self, practice_id: str, target: tuple[str, str], day: date) -> str:
        """One client's check; every failure is counted by kind and logged by id, never raised."""
        client_id, coverage_id = target
        try:
            outcome = self._checks.check(
                practice_id, client_id, coverage_id, date_of_service=day, trigger="batch"
            )
        except EligibilityInFlightError:
            return "in_flight"
        except EligibilityRefusedError:
            return "refused"
        except (DependencyUnavailableError, InvalidRequestError, NotFoundError, ConflictError) as exc:
            logger.warning(
                "eligibility check failed",
                practice_id=practice_id,
                client_id=client_id,
                error=type(exc).__name__,
            )
            return "failed"
        return "already_checked" if outcome.repeated else outcome.check.status
