"""Helpers shared by the staff API's routers."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from therabill.api.auth import Caller, caller_from
from therabill.api.bodies import BoundedResolver, refusal
from therabill.api.deps import container
from therabill.core.errors import TherabillError

_acting: ContextVar[Caller | None] = ContextVar("therabill_staff_caller", default=None)


class StaffResolver(BoundedResolver):
    """The staff API's resolver: once its body has passed, each request's caller is checked (one
    read of their staff item, ``auth.caller_from``) before it is routed or its input validated,
    so no route can be reached by a member who may not act, and such a member hears 401 whatever
    they send. The routes read the checked caller with ``caller``."""

    def _routed(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        if event.get("httpMethod") == "OPTIONS":  # a preflight carries no token
            return super()._routed(event, context)
        try:
            who = caller_from(APIGatewayProxyEvent(dict(event)), container().staff)
        except TherabillError as exc:
            return refusal(exc)
        token = _acting.set(who)
        try:
            return super()._routed(event, context)
        finally:
            _acting.reset(token)


def caller(resolver: ApiGatewayResolver | APIGatewayRouter) -> Caller:
    """The practice, staff member and role of the request being handled: the token's member, as
    their staff item says now (checked before routing; refused 401 if they may not act)."""
    who = _acting.get()
    if who is not None:
        return who
    event = resolver.current_event  # a resolver that is not a StaffResolver: check now
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


def csv_response(name: str, text: str, headers: Mapping[str, str] | None = None) -> Response[str]:
    """A CSV download named ``name`` (``headers``: more of them, e.g. the next page's cursor)."""
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=text,
        headers={"Content-Disposition": f'attachment; filename="{name}"', **(headers or {})},
    )


def removed() -> Response[str]:
    """A removal's answer: 204, no body."""
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")
