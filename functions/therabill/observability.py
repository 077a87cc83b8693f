"""Logger, Tracer and Metrics: created once here, imported by entry points. Logs carry ids, not PHI.

Libraries log warnings and errors only: fontTools chatters at INFO for every font it subsets in an
invoice PDF, botocore and stripe log every call. Their loggers are set to WARNING when this module
is first imported (every entry point imports it at cold start; the local system calls
:func:`quiet_third_party_loggers` too), whatever the root logger's level. Therabill's own logger
keeps its level (``POWERTOOLS_LOG_LEVEL``).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

from therabill.contract import SERVICE_NAME

THIRD_PARTY_LOGGERS = ("fontTools", "fpdf", "botocore", "boto3", "s3transfer", "urllib3", "stripe")


def quiet_third_party_loggers(level: int = logging.WARNING) -> None:
    """Set the libraries' loggers (and so their children's effective level) to ``level``."""
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(level)


quiet_third_party_loggers()

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace="Therabill", service=SERVICE_NAME)
