"""One write inside a table transaction, as a value.

Stores build these (they alone know keys and item shapes) and hand them to another store when one
step's writes span two capabilities and must land together; services only pass them along.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Write:
    """A put, update, delete or condition check, applied with the others of its transaction."""

    kind: str  # "put" | "update" | "delete" | "check"
    key: dict[str, str] | None = None
    item: dict[str, Any] | None = None
    update: str | None = None
    condition: str | None = None
    names: dict[str, str] | None = None
    values: dict[str, Any] | None = None
