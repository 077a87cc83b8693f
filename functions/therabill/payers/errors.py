"""Payers' own errors (each a core error, so the API answers the same status). They carry data:
the payer's directory id, the kind of transaction, the reason as a code."""

from __future__ import annotations

from therabill.clearinghouse.errors import RejectionReason
from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError

REFUSALS = {
    "not_supported": "the payer does not take {transaction} through the clearinghouse",
    "not_required": "the payer takes {transaction} from any provider: there is nothing to enroll",
    "no_billing_provider": "set up the practice's billing provider first: the enrollment names it",
}


class PayerNotFoundError(NotFoundError):
    """The clearinghouse's directory has no payer with this id."""

    def __init__(self, payer_id: str) -> None:
        super().__init__(f"the payer directory has no payer {payer_id}", payer_id=payer_id)


class PayerNotAcceptedError(NotFoundError):
    """The practice has not accepted this payer."""

    def __init__(self, payer_id: str) -> None:
        super().__init__(f"the practice has not accepted the payer {payer_id}", payer_id=payer_id)


class EnrollmentRefusedError(ConflictError):
    """An enrollment not asked for (``reason``: not_supported, not_required, no_billing_provider)."""

    def __init__(self, payer_id: str, transaction: str, reason: str) -> None:
        message = REFUSALS[reason].format(transaction=transaction.replace("_", " "))
        super().__init__(message, payer_id=payer_id, transaction=transaction, reason=reason)
        self.reason = reason


class EnrollmentInProgressError(ConflictError):
    """Another request is asking the clearinghouse for this enrollment right now."""

    def __init__(self, payer_id: str, transaction: str) -> None:
        super().__init__(
            "this enrollment is being sent to the clearinghouse right now; read it again in a minute",
            payer_id=payer_id,
            transaction=transaction,
        )


class EnrollmentChangedError(ConflictError):
    """The enrollment changed since it was read (another request wrote it)."""

    def __init__(self, payer_id: str, transaction: str) -> None:
        super().__init__(
            "the enrollment was changed by another request; read it again",
            payer_id=payer_id,
            transaction=transaction,
        )


class EnrollmentRejectedError(InvalidRequestError):
    """The clearinghouse refused the enrollment: its reasons say what to fix (about the practice's
    provider data; no health information is ever part of an enrollment)."""

    def __init__(self, payer_id: str, transaction: str, reasons: tuple[RejectionReason, ...]) -> None:
        super().__init__(
            "the clearinghouse refused the enrollment; see the reasons",
            payer_id=payer_id,
            transaction=transaction,
            reasons=[
                {
                    "code": r.code,
                    "location": r.location,
                    "description": r.description,
                    "follow_up": r.follow_up,
                }
                for r in reasons
            ],
        )
