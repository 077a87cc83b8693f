"""The nightly run's items (``NightlyStore``) and, until the other capabilities' public APIs
replace it, the one place that reads and writes their items (``ForeignItems``)."""

from therabill.nightly.store.foreign import ForeignItems
from therabill.nightly.store.runs import (
    FinishWriteFailedError,
    ItemAlreadyDoneError,
    NightlyStore,
    RunNotReportingError,
)

__all__ = [
    "FinishWriteFailedError",
    "ForeignItems",
    "ItemAlreadyDoneError",
    "NightlyStore",
    "RunNotReportingError",
]
