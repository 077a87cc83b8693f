"""Replaying a request that carries an idempotency key.

A request key becomes a derived id (``core.ids.derived_id``); before creating anything, the
service looks that id up. Nothing there: a first request, go on. Something there made from the
same request: a replay, answer with it. Something there made from a different request: the key
was reused, a conflict (409). This module is the last step, written once; reading the existing
thing is the caller's (its store's) business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from therabill.core.errors import ConflictError

T = TypeVar("T")


def replayed(existing: T | None, *, same: Callable[[T], bool], conflict: str, **details: Any) -> T | None:
    """``existing`` (what the derived id already names) when ``same(existing)`` says it was made
    by this very request; None when there is nothing yet (carry on and create it). Raises
    ConflictError(``conflict``, **details) when the key was used for a different request."""
    if existing is None:
        return None
    if not same(existing):
        raise ConflictError(conflict, **details)
    return existing
