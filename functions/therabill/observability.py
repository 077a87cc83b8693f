"""Logger, Tracer and Metrics: created once here, imported by entry points. Logs carry ids, not PHI.

``business`` is what the services count (charges, the nightly run, webhooks, emails): CloudWatch
EMF through Powertools, in ``contract.METRICS_NAMESPACE``, flushed by each entry point's
``log_metrics``. Its dimensions are fixed (the service; an amount's currency): never a practice, a
client or anything about a session.

Libraries log warnings and errors only: fontTools chatters at INFO for every font it subsets in an
invoice PDF, botocore and stripe log every call, Powertools' event handler every route's arguments
(request bodies: health information). Their loggers are set to WARNING when this module
is first imported (every entry point imports it at cold start; the local system calls
:func:`quiet_third_party_loggers` too), whatever the root logger's level. Therabill's own logger
keeps its level (``POWERTOOLS_LOG_LEVEL``).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from therabill.contract import (
    METRIC_AMOUNT_SUFFIX,
    METRIC_CURRENCY_DIMENSION,
    METRIC_SERVICE_DIMENSION,
    METRICS_NAMESPACE,
    SERVICE_NAME,
)
from therabill.core.money import Money

# aws_lambda_powertools: its event handler logs every route's arguments at DEBUG (a request body:
# member ids, dates of birth, diagnoses, CPT codes); Therabill's own logger is not under it.
THIRD_PARTY_LOGGERS = (
    "fontTools",
    "fpdf",
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "stripe",
    "aws_lambda_powertools",
)


def quiet_third_party_loggers(level: int = logging.WARNING) -> None:
    """Set the libraries' loggers (and so their children's effective level) to ``level``."""
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(level)


quiet_third_party_loggers()

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)


class BusinessMetrics:
    """Counts (and amounts) of what happened, by name (``contract.METRIC_*``). A count joins the
    invocation's metric set, which the entry point's ``log_metrics`` flushes; an amount is written
    at once as its own EMF record with the currency as a dimension (amounts of two currencies are
    never summed). Nothing is kept while metrics are disabled (tests, the local system)."""

    def __init__(self, sink: Metrics) -> None:
        self._sink = sink

    def count(self, name: str, value: int = 1, *, amount: Money | None = None) -> None:
        """``value`` more of ``name``; with ``amount``, also ``<name>Amount`` in its minor units."""
        if is_metrics_disabled():
            return
        self._sink.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if amount is not None:
            with single_metric(
                name=name + METRIC_AMOUNT_SUFFIX,
                unit=MetricUnit.Count,
                value=amount.amount,
                namespace=METRICS_NAMESPACE,
                default_dimensions={
                    METRIC_SERVICE_DIMENSION: SERVICE_NAME,
                    METRIC_CURRENCY_DIMENSION: amount.currency,
                },
            ):
                pass


business = BusinessMetrics(metrics)
