"""Logger, Tracer and Metrics: created once here, imported by entry points. Logs carry ids, not PHI."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from therabill.contract import SERVICE_NAME

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace="Therabill", service=SERVICE_NAME)
