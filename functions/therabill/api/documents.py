"""What the OpenAPI documents say beyond what Powertools generates from the typed routes.

A route declares what is its own: its success status (``status_code=201`` for a create), its
response model (the return annotation, or ``answers(...)`` where the status or content type
varies) and the refusals only some routes give (403, 404, 409, 429, 502) with ``answers``.
:func:`document` then adds what every route shares, the way the resolver really answers:

- every 4xx/5xx carries the one error body (``ErrorBody``: ``code``, ``message``, ``details``),
  never Powertools' 422 (a validation error is a 400, see ``api/errors.py``);
- 400 on every operation (a body that is not UTF-8, a bad parameter or body), 413 and 415 on
  every operation that takes a body, 404 on every operation with a path parameter, 503 (with
  ``Retry-After``) on every operation (the table or Stripe unavailable);
- on the staff API: the bearer scheme (the Cognito ID token) on every operation and its 401;
- each operation's description (and, its first sentence, its summary): the route's docstring;
- links from each create to the operations that take the id it made (``LINKS``), so a stateful
  client (schemathesis) can follow a create with the requests that use it.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from therabill.api.errors import ErrorBody

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

ERROR_REF = "#/components/schemas/ErrorBody"
BEARER = "CognitoIdToken"
# Why a status is answered, said once for the whole API.
REFUSALS: dict[int, str] = {
    400: "Refused: a parameter or the body is not what the operation takes (not UTF-8 text, not "
    "JSON, a missing or unknown field, a value of the wrong shape); ``details.problems`` names "
    "each field and what it expected. Nothing was written.",
    401: "No valid staff ID token, or one that names no practice or no staff role.",
    403: "The caller's role may not do this.",
    404: "Not found in the caller's practice (or no route for this method and path).",
    409: "Conflicts with the current state: an ``expected_version`` that is not the current one, "
    "a thing that already exists, or a status that does not allow this step.",
    413: "The body is larger than 256 KiB.",
    415: "The body is not sent as JSON (Content-Type: application/json).",
    429: "Too many attempts: wait for ``Retry-After`` seconds.",
    502: "The payment provider refused the request.",
    503: "A dependency (the database or the payment provider) is unavailable for a moment: try "
    "again after ``Retry-After`` seconds.",
}
_METHODS = ("get", "put", "post", "delete", "patch")
# A create, and the path parameter its answer's ``id`` fills.
LINKS: dict[tuple[str, str], str] = {
    ("post", "/clients"): "client_id",
    ("post", "/clients/{client_id}/contacts"): "contact_id",
    ("post", "/services"): "service_id",
    ("post", "/sessions"): "session_id",
    ("post", "/invoices"): "invoice_id",
}


def refusal(status: int) -> OpenAPIResponse:
    response: OpenAPIResponse = {
        "description": REFUSALS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        }
    return response


def answers(
    success: dict[int, str | OpenAPIResponse] | None = None, *refusals: int
) -> dict[int, OpenAPIResponse]:
    """A route's ``responses=``: its successes (a description, the body from the return annotation;
    or a full response object) and the refusals only it gives."""
    out: dict[int, OpenAPIResponse] = {}
    for status, said in (success or {}).items():
        out[status] = {"description": said} if isinstance(said, str) else said
    for status in refusals:
        out[status] = refusal(status)
    return out


def body_of(model: Any, description: str, media_type: str = "application/json") -> OpenAPIResponse:
    """A success answered with ``model`` as its body (where the return annotation cannot say it)."""
    return {"description": description, "content": {media_type: {"model": model}}}


def no_content(description: str) -> OpenAPIResponse:
    """A success with no body (204)."""
    return {"description": description, "content": {}}


def page_refusals(*statuses: int) -> dict[int, OpenAPIResponse]:
    """A page's refusals: a page saying why (HTML), or the error body where the request never
    reached the page (a path that is not a token's shape: 400)."""
    out: dict[int, OpenAPIResponse] = {}
    for status in statuses:
        response = refusal(status)
        response["content"] = {
            **response.get("content", {}),
            "text/html": {"schema": {"type": "string"}},
        }
        out[status] = response
    return out


def text_of(media_type: str, description: str) -> OpenAPIResponse:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _routes(app: ApiGatewayResolver) -> dict[tuple[str, str], Any]:
    found = {}
    for route in [*app._static_routes, *app._dynamic_routes]:  # Powertools lists them nowhere else
        found[(route.method.lower(), route.openapi_path)] = route
    return found


def _first_sentence(text: str) -> str:
    head = re.split(r"(?<=\.)\s", text, maxsplit=1)[0].rstrip(".")
    return head if len(head) <= 90 else head[:87].rstrip() + "..."


def _add_shared(operation: dict[str, Any], *, staff: bool) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    shared = [400, 503]
    if "requestBody" in operation:
        shared.extend((413, 415))
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        shared.append(404)
    if staff:
        shared.append(401)
    for status in shared:
        responses.setdefault(str(status), refusal(status))
    for response in responses.values():
        if response.get("content") == {}:
            del response["content"]
    operation["responses"] = dict(sorted(responses.items()))


def _add_links(spec: dict[str, Any]) -> None:
    """Each create links to every operation whose path takes the id it made (and, beyond it, only
    path parameters the create's own request had)."""
    for (method, source), param in LINKS.items():
        operation = spec["paths"].get(source, {}).get(method)
        if operation is None:
            continue
        own = set(re.findall(r"\{(\w+)\}", source))
        links: dict[str, Any] = {}
        for path, item in spec["paths"].items():
            needs = set(re.findall(r"\{(\w+)\}", path))
            if param not in needs or not needs - {param} <= own:
                continue
            for target_method, target in item.items():
                if target_method not in _METHODS:
                    continue
                parameters = {param: "$response.body#/id"}
                parameters.update({name: f"$request.path.{name}" for name in needs - {param}})
                name = re.sub(r"\W+", "_", f"{target_method}_{path}").strip("_")
                links[name] = {"operationId": target["operationId"], "parameters": parameters}
        for status, response in operation["responses"].items():
            if status in ("200", "201") and links:
                response["links"] = dict(sorted(links.items()))


def document(app: ApiGatewayResolver, *, title: str, description: str, staff: bool) -> dict[str, Any]:
    """The OpenAPI document of ``app`` as the API really answers (see the module's docstring)."""
    # Powertools' OpenAPI models: tens of ms of pydantic classes, only for writing the documents
    # (the routes import this module for ``answers``, and a cold start must not pay for them).
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer  # noqa: PLC0415 - see above

    schemes: dict[str, SecurityScheme] | None = None
    if staff:
        schemes = {
            BEARER: HTTPBearer(
                bearerFormat="JWT",
                description="The staff user's Cognito ID token (not the access token): "
                "``Authorization: Bearer <id token>``. Its ``custom:practice_id`` and "
                "``custom:role`` claims name the caller's practice and role.",
            )
        }
    spec: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=title,
            version="1",
            description=description,
            security_schemes=schemes,
            security=[{BEARER: []}] if staff else None,
        )
    )
    routes = _routes(app)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            route = routes.get((method, path))
            doc = inspect.getdoc(route.func) if route is not None else None
            if doc and not operation.get("description"):
                operation["description"] = " ".join(doc.split())
                operation["summary"] = _first_sentence(operation["description"])
            _add_shared(operation, staff=staff)
    _add_links(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    spec["components"]["schemas"] = dict(sorted(schemas.items()))
    return spec
