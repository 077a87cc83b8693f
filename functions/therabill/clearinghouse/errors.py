"""The clearinghouse's errors: unavailable (the same request later) or rejected (what to fix).

A clearinghouse's own wording may quote what was sent (a member id, a name, a tax id), so it is
kept as data on the error (`reasons`) and never becomes the error's message or its details, which
get logged: those hold the operation, the HTTP status and the reason codes only."""

from __future__ import annotations

from dataclasses import dataclass

from therabill.core.errors import DependencyUnavailableError, InvalidRequestError, NotFoundError


@dataclass(frozen=True, slots=True)
class RejectionReason:
    """One reason the clearinghouse or the payer refused a document.

    `code` is the clearinghouse's or X12's code (an AAA 901 reason, a 999 IK4 / IK5 code, or the
    API's own error code); `location` names the loop, segment or element (never its value);
    `description` and `follow_up` are the clearinghouse's words, for staff only: never logged."""

    code: str
    location: str = ""
    description: str = ""
    follow_up: str = ""

    def __repr__(self) -> str:
        return f"RejectionReason(code={self.code!r}, location={self.location!r})"


class ClearinghouseUnavailableError(DependencyUnavailableError):
    """The clearinghouse (or the payer behind it) is down, slow or throttling: retry later."""

    def __init__(
        self, operation: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(
            f"the clearinghouse is unavailable for {operation}; retry later",
            operation=operation,
            status=status,
        )
        self.operation = operation
        self.status = status
        self.retry_after = retry_after


class ClearinghouseRejectedError(InvalidRequestError):
    """The clearinghouse refused the document (validation, a 999 rejection, a bad request): the
    reasons say what to fix. `acknowledgment` holds the clearinghouse's X12 answer when it sent one
    (a 999 for an eligibility check, a 277CA for claims)."""

    def __init__(
        self,
        operation: str,
        *,
        reasons: tuple[RejectionReason, ...] = (),
        status: int | None = None,
        acknowledgment: bytes | None = None,
    ) -> None:
        codes = [reason.code for reason in reasons]
        super().__init__(
            f"the clearinghouse rejected the {operation}", operation=operation, status=status, codes=codes
        )
        self.operation = operation
        self.reasons = reasons
        self.status = status
        self.acknowledgment = acknowledgment


class ClearinghouseNotFoundError(NotFoundError):
    """An enrollment or inbound document the clearinghouse does not know."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the clearinghouse has no such {what}", what=what)


class ClearinghouseAuthError(DependencyUnavailableError):
    """The clearinghouse refused our credentials (401/403): an operator must fix the key; nothing
    the practice sends will change it."""

    def __init__(self, operation: str, *, status: int) -> None:
        super().__init__(f"the clearinghouse refused the credentials for {operation}", status=status)
        self.status = status
