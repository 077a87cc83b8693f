"""Errors of payments and refunds. Each subclasses the shared error the HTTP mapper answers for
(404, 409), carries its data as attributes, and keeps the message callers have always seen."""

from __future__ import annotations

from therabill.core.errors import ConflictError, NotFoundError


class PaymentNotFoundError(NotFoundError):
    def __init__(self, payment_id: str) -> None:
        super().__init__("payment not found")
        self.payment_id = payment_id


class PaymentChangedError(ConflictError):
    """A conditional write of a payment found no item to report (it cannot say what changed)."""

    def __init__(self, payment_id: str) -> None:
        super().__init__("the payment changed meanwhile; try again")
        self.payment_id = payment_id


class RefundNotFoundError(NotFoundError):
    def __init__(self, refund_id: str) -> None:
        super().__init__("refund not found")
        self.refund_id = refund_id


class RefundReservationError(ConflictError):
    """The refund could not be reserved against its payment: the payment changed meanwhile
    (another refund, usually) so the total refunded would pass the amount paid."""

    def __init__(self, payment_id: str, refund_id: str) -> None:
        super().__init__("the payment changed meanwhile (another refund?); reload and retry")
        self.payment_id = payment_id
        self.refund_id = refund_id


class PaymentAlreadyMadeError(ConflictError):
    """The payment a link asks to confirm has succeeded already (not a failure: nothing to do)."""

    def __init__(self, payment_id: str) -> None:
        super().__init__("this payment has already been made", status="succeeded")
        self.payment_id = payment_id


class NoAuthenticationNeededError(ConflictError):
    """The payment is not waiting for its cardholder (declined, failed, cancelled, or Stripe gave no
    way to finish it online)."""

    def __init__(
        self, payment_id: str, status: str, message: str = "this payment does not need authentication"
    ):
        super().__init__(message, status=status)
        self.payment_id = payment_id
