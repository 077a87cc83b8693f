"""Staff routes for service types, pricing and sessions (included by api/staff.py)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

router = APIGatewayRouter()
