"""The store's own errors (each a core error, so the API answers its status)."""

from __future__ import annotations

from therabill.core.errors import ConflictError, InvalidRequestError, NotFoundError


class ProductNotFoundError(NotFoundError):
    """No such product in this practice."""


class ProductChangedError(ConflictError):
    """The product changed since the version the caller read (``current_version``)."""


class OutOfStockError(ConflictError):
    """Not enough units of a product are available (``product_id``, ``available``, ``wanted``)."""


class StockBelowZeroError(ConflictError):
    """An adjustment would leave fewer than zero units (``product_id``, ``available``)."""


class OrderNotFoundError(NotFoundError):
    """No such order in this practice."""


class OrderStateError(ConflictError):
    """The order is not in a state that allows this (``current_status``)."""


class RequestReusedError(ConflictError):
    """The same request id again with other items or another way to pay (``order_id``): nothing
    is reserved; the page makes a new request id for a changed order."""


class BadOrderError(InvalidRequestError):
    """An order names no product, a product twice, too many lines, or an inactive product."""


class NotRefundableError(ConflictError):
    """A return would give back more than is left to refund of the order's payment (``amount``,
    ``remaining``): nothing is recorded."""


class ReturnRefundFailedError(ConflictError):
    """The return's refund failed at the card's processor (``refund_id``): the return was undone
    and nothing restocked."""
