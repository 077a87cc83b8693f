"""One place that maps domain errors to HTTP: a status and a JSON error body. Never a stack
trace, never a message matched on text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, Field

from therabill import contract
from therabill.core import errors
from therabill.observability import logger
from therabill.payments.gateway import GatewayRejectedError, PhiLeakError
from therabill.settings import SettingsError

STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (errors.NotFoundError, 404, "not_found"),
    (errors.AlreadyExistsError, 409, "already_exists"),
    (errors.ConflictError, 409, "conflict"),
    (errors.InvalidRequestError, 400, "invalid_request"),
    (errors.PayloadTooLargeError, 413, "payload_too_large"),
    (errors.ForbiddenError, 403, "forbidden"),
    (errors.UnauthorizedError, 401, "unauthorized"),
    (errors.TooManyRequestsError, 429, "too_many_attempts"),
    (errors.DependencyUnavailableError, 503, "unavailable"),
    (errors.RetryLaterError, 503, "unavailable"),
    (PhiLeakError, 400, "invalid_request"),
    (GatewayRejectedError, 502, "payment_provider_rejected"),
)


# What a validation error says, in words (pydantic's own text names patterns and types).
_WORDS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "int_type": "must be a whole number, not text, a decimal number or true/false",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number, not a decimal number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "string_unicode": "must be text, not half of a character pair (an unpaired surrogate escape)",
    "string_too_long": "must be at most {max_length:,} characters",
    "less_than_equal": "must be at most {le:,}",
    "less_than": "must be less than {lt:,}",
    "greater_than_equal": "must be at least {ge:,}",
    "greater_than": "must be more than {gt:,}",
    "too_long": "must have at most {max_length:,} items",
    "too_short": "must have at least {min_length:,} item(s)",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "union_tag_invalid": "must have kind {expected_tags}",
    "union_tag_not_found": "needs the field {discriminator}",
    "json_invalid": "is not valid JSON",
    "date_from_datetime_inexact": "must be a date in ISO-8601, e.g. 2031-03-04",
    "date_parsing": "must be a date in ISO-8601, e.g. 2031-03-04",
}
# A value that does not have the shape a field takes, by the field's name (never the pattern).
_SHAPES = {
    "email": "must be an email address, e.g. name@example.com",
    "phone": "must be a phone number: 7 to 20 digits, spaces, brackets or dashes, with an optional +",
    "country": "must be a two-letter country code in capitals, e.g. US",
    "cpt_code": "must be a CPT code: four digits and a digit or F, T or U, e.g. 90837",
    "modifiers": "must be two capital letters or digits, e.g. 95",
    "number": "must be an invoice number, e.g. INV-000123",
    "access_code": "must be the 6-digit access code",
    "refresh_url": "must be a web address starting with https:// or http://",
    "return_url": "must be a web address starting with https:// or http://",
    "request_id": "must be 8 to 64 letters, digits or dashes",
    "member_id": "must be 2 to 80 letters, digits or dashes, as on the insurance card",
    "group_number": "must be 1 to 50 letters, digits, spaces or dashes, as on the insurance card",
    "payer_id": "must be a payer's id in the payer directory: 2 to 20 letters or digits, e.g. PRAIR",
}


def field_of(err: Mapping[str, Any]) -> str:
    """``rules[0].shares[1].value``: where the problem is in the body (or the parameter's name)."""
    out = ""
    for part in err.get("loc", ()):
        if part == "body" and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    if err.get("type") == "json_invalid" or (not out and tuple(err.get("loc", ()))[:1] == ("body",)):
        return "body"  # the body as a whole: missing, not JSON, or not an object
    return out


def words_for(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        names = [str(p) for p in err.get("loc", ()) if isinstance(p, str)]
        name = names[-1] if names else ""
        shape = _SHAPES.get(name)
        if shape is None and (name.endswith("_id") or name == "id"):
            shape = "must be an id, e.g. cli_1a2b3c"
        return shape or "is not in the form this field takes"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"must be at least {ctx.get('min_length')} characters"
        )
    if tuple(err.get("loc", ())) == ("body",) and kind in ("missing", "model_attributes_type", "dict_type"):
        return "must be a JSON object with the request's fields (Content-Type: application/json)"
    if kind in _WORDS:
        try:
            return _WORDS[kind].format(**ctx)
        except (KeyError, ValueError):
            pass
    message = str(err.get("msg", "invalid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


class ErrorBody(BaseModel):
    """Every refusal's body."""

    code: str = Field(
        description="the kind of refusal: invalid_request, unauthorized, forbidden, not_found, "
        "conflict, already_exists, payload_too_large, unsupported_media_type, too_many_attempts, "
        "unavailable, "
        "payment_provider_rejected or internal"
    )
    message: str = Field(description="what went wrong, in words a person can act on")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="what the refusal is about, e.g. the field; for invalid_request, ``problems``: "
        "a list of {field, problem}",
    )


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response[str]:
    body = ErrorBody(code=code, message=message, details=details or {})
    headers = {"Retry-After": "5"} if status == 503 else None
    if status == 429:
        headers = {"Retry-After": str((details or {}).get("retry_after", 3600))}
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers=headers,
    )


def _safe_details(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if isinstance(v, str | int | bool | list | None)}


def install(app: ApiGatewayResolver) -> None:
    @app.exception_handler(errors.TherabillError)
    def _domain(exc: errors.TherabillError) -> Response[str]:
        for kind, status, code in STATUS:
            if isinstance(exc, kind):
                if status >= 500:
                    logger.warning("dependency unavailable", error=type(exc).__name__)
                return error_response(status, code, exc.message, _safe_details(exc.details))
        logger.exception("unmapped domain error")
        return error_response(500, "internal", "something went wrong")

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response[str]:
        problems = [{"field": field_of(err), "problem": words_for(err)} for err in exc.errors()]
        first = problems[0] if problems else {"field": "", "problem": "invalid request"}
        message = f"{first['field']}: {first['problem']}" if first["field"] else first["problem"]
        return error_response(400, "invalid_request", message, {"problems": problems})

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            415,
            "unsupported_media_type",
            "the body must be JSON: send it with Content-Type: application/json",
            {"content_type": app.current_event.headers.get("content-type", "")},
        )

    @app.exception_handler(NoRouteError)
    def _no_route(exc: NoRouteError) -> Response[str]:
        event = app.current_event
        body = contract.no_route_body(event.http_method, event.path)
        return Response(
            status_code=contract.NO_ROUTE_STATUS,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(body),
        )

    @app.exception_handler(ServiceError)
    def _http(exc: ServiceError) -> Response[str]:
        return error_response(exc.status_code, "http_error", str(exc.msg))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        # The type only: messages can carry request data (names, emails). Never the trace to
        # the caller.
        logger.error("unexpected error", error=type(exc).__name__)
        return error_response(500, "internal", "something went wrong")

    @app.exception_handler(SettingsError)
    def _settings(exc: SettingsError) -> Response[str]:
        logger.error("misconfigured", error=str(exc))
        return error_response(500, "internal", "the service is misconfigured")
