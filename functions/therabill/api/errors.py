"""One place that maps domain errors to HTTP: a status and a JSON error body. Never a stack
trace, never a message matched on text."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from therabill.core import errors
from therabill.observability import logger
from therabill.payments.gateway import GatewayRejectedError, PhiLeakError
from therabill.settings import SettingsError

STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (errors.NotFoundError, 404, "not_found"),
    (errors.AlreadyExistsError, 409, "already_exists"),
    (errors.ConflictError, 409, "conflict"),
    (errors.InvalidRequestError, 400, "invalid_request"),
    (errors.ForbiddenError, 403, "forbidden"),
    (errors.UnauthorizedError, 401, "unauthorized"),
    (errors.DependencyUnavailableError, 503, "unavailable"),
    (errors.RetryLaterError, 503, "unavailable"),
    (PhiLeakError, 400, "invalid_request"),
    (GatewayRejectedError, 502, "payment_provider_rejected"),
)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response[str]:
    body = ErrorBody(code=code, message=message, details=details or {})
    headers = {"Retry-After": "5"} if status == 503 else None
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
        problems = []
        for err in exc.errors():
            location = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append({"field": location, "problem": err.get("msg", "invalid")})
        first = problems[0] if problems else {"field": "", "problem": "invalid request"}
        message = f"{first['field']}: {first['problem']}" if first["field"] else first["problem"]
        return error_response(400, "invalid_request", message, {"problems": problems})

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
