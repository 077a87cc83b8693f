"""Lambda entry point (EventBridge Scheduler): finish charges left pending, make the retries of
declined charges that are due, then release the booking holds and the store's
reservations whose payment did not come."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.observability import logger, metrics, tracer
from therabill.wiring import container


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payments = container().payments
    counts = payments.reconcile_pending()
    logger.info("reconciled pending payments", extra=counts)
    retried = payments.retry_due()  # logged (the returned counts stay those of reconciliation)
    logger.info("retried declined payments", extra=retried)
    released = container().bookings.release_expired()  # logged, like the retries
    logger.info("released expired booking holds", extra=released)
    orders = container().shop.release_expired()  # the store's unpaid orders give their units back
    logger.info("released expired order reservations", extra=orders)
    return counts
