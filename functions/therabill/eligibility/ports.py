"""What eligibility needs outside: where the raw 271s are kept (the private documents bucket,
``adapters/s3.py``), and how a check is asked for later, off the request's path (a one-time
schedule to the eligibility function, ``adapters/scheduler.py``)."""

from __future__ import annotations

from typing import Protocol


class DocumentStore(Protocol):
    def put(self, key: str, body: bytes) -> None:
        """Keep ``body`` under ``key`` (encrypted at rest by the bucket's key)."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object, or None when there is none."""
        ...


class CheckRequests(Protocol):
    def request(self, practice_id: str, client_id: str, coverage_id: str, *, version: int) -> None:
        """Ask for a check of this coverage soon (once per version of the coverage)."""
        ...
