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


class BookingPaidError(ConflictError):
    """The booking a pay link is for has been paid and confirmed: nothing more to pay (the page
    says so; not a failure). ``when``: the appointment, as the client reads it."""

    def __init__(self, session_id: str, when: str) -> None:
        super().__init__("this booking is paid and confirmed", status="confirmed")
        self.session_id = session_id
        self.when = when


class BookingReleasedError(ConflictError):
    """The booking's hold was released (unpaid in time, or cancelled): it can no longer be paid."""

    def __init__(self, session_id: str, status: str, when: str) -> None:
        super().__init__("this booking is no longer held; please contact the practice", status=status)
        self.session_id = session_id
        self.when = when


class NothingToPayError(NotFoundError):
    def __init__(self, session_id: str) -> None:
        super().__init__("this booking has nothing to pay")
        self.session_id = session_id
