"""The bookings capability's errors."""

from __future__ import annotations

from therabill.core.errors import ConflictError, NotFoundError


class BookingSettingsChangedError(ConflictError):
    """The practice's booking settings changed since the version the caller read."""

    def __init__(self, current_version: int) -> None:
        super().__init__(
            "the booking settings were changed by someone else; reload and retry",
            current_version=current_version,
        )
        self.current_version = current_version


class BookingRuleNotFoundError(NotFoundError):
    def __init__(self, key: str) -> None:
        super().__init__("booking rule not found")
        self.key = key
