"""The sessions capability's errors. Each subclasses the core error that gives its HTTP answer, and
keeps the message and details that answer has always carried; the data is on attributes too.
(``SessionChangedError``, which carries the session as it is now, lives with the store.)"""

from __future__ import annotations

from datetime import datetime

from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError, TherabillError


class SessionNotFoundError(NotFoundError):
    """No such session in this practice (or its item is gone)."""

    def __init__(self, session_id: str | None = None) -> None:
        super().__init__("session not found")
        self.session_id = session_id


class SessionTransitionError(ConflictError):
    """The transition is not legal from the session's current status."""

    def __init__(self, message: str, *, current_status: str, session_id: str, version: int) -> None:
        super().__init__(message, current_status=current_status, session_id=session_id, version=version)
        self.current_status = current_status
        self.session_id = session_id
        self.version = version


class SessionEndsInTheFutureError(InvalidRequestError):
    """A completion whose real end has not happened yet (beyond the clock-skew tolerance)."""

    def __init__(self, end: datetime, latest: datetime) -> None:
        super().__init__(
            "actual_end: a session can be completed only once it has ended (its end is in the future)",
            field="actual_end",
        )
        self.end = end
        self.latest = latest


class SessionKeepsChangingError(ConflictError):
    """Every attempt of a transition met a session that had moved on again."""

    def __init__(self, *, current_status: str, session_id: str) -> None:
        super().__init__(
            "the session keeps changing; reload and retry",
            current_status=current_status,
            session_id=session_id,
        )
        self.current_status = current_status
        self.session_id = session_id


class SessionNotBookedError(TherabillError):
    """The booking's transaction was refused (a key taken: the session, its pointer, or one of the
    writes that joined it) and no session with the requested id exists to answer instead.
    Deliberately not mapped to a status of its own (it answers as it always has)."""

    def __init__(self, session_id: str, index: int | None) -> None:
        super().__init__("condition failed", index=index)
        self.session_id = session_id
        self.index = index
