"""Helpers shared by the staff API's routers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from therabill.api.auth import Caller, caller_from
from therabill.api.deps import container


def caller(resolver: ApiGatewayResolver | APIGatewayRouter) -> Caller:
    """The practice, staff member and role of the request being handled: the token's member, as
    their staff item says now (refused 401 if they may not act)."""
    event = resolver.current_event
    assert isinstance(event, APIGatewayProxyEvent)
    return caller_from(event, container().staff)


def created(model: Any) -> Response[str]:
    return Response(
        status_code=201, content_type=content_types.APPLICATION_JSON, body=model.model_dump_json()
    )


def json_response(status: int, model: Any) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=model.model_dump_json()
    )


def removed() -> Response[str]:
    """A removal's answer: 204, no body."""
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")
