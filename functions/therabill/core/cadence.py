"""When a self-pay session is billed: at the practice's nightly cutoff (``nightly``) or within
minutes of it becoming Ready (``at_completion``). The practice sets a default; a client may
override it (None: the practice's)."""

from __future__ import annotations

from typing import Literal

BillingCadence = Literal["nightly", "at_completion"]
CADENCES: tuple[BillingCadence, ...] = ("nightly", "at_completion")


def cadence_of(practice_default: BillingCadence, own: BillingCadence | None) -> BillingCadence:
    """What holds for a client: their own choice, else the practice's."""
    return practice_default if own is None else own
