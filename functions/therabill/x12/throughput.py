"""A measurement hook for the bench: how fast 271s are read."""

from __future__ import annotations

from therabill.x12.eligibility.response import read_271


def read_271_copies(data: bytes, copies: int) -> int:
    """Read the same 271 `copies` times; returns the number of patient results read (so the work
    cannot be optimised away and the caller can check it)."""
    return sum(len(read_271(data).results) for _ in range(copies))
