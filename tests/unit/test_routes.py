"""The routes the gateways serve are the routes the OpenAPI documents name, no more, no fewer.

Both gateways route by the prefix list in ``therabill.contract``: API Gateway (infra/, checked
against the synthesized template in tests/infra/test_stack.py) and the local one
(``devstack.apigw.route_for``, checked here). The typed routes (the resolvers in
``therabill.api``) generate the documents; tests/unit/test_openapi.py keeps the committed ones
equal to them. A route added to a resolver outside the list, or a prefix added to the list with
no route under it, fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from scripts.openapi import generate

from devstack import apigw
from therabill import contract
from therabill.api import public, staff

DOCS = Path(__file__).resolve().parents[2] / "docs"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
FUNCTION_OF_DOCUMENT = {"staff": apigw.STAFF_FUNCTION, "public": apigw.PUBLIC_FUNCTION}


def _prefixes_of(function: str) -> tuple[str, ...]:
    """Read at each call: the tests below change the list."""
    return {
        apigw.STAFF_FUNCTION: contract.STAFF_API_PREFIXES,
        apigw.PUBLIC_FUNCTION: contract.PUBLIC_API_PREFIXES,
    }[function]


# Served on purpose but in neither document, each with its reason.
UNDOCUMENTED = {
    ("POST", contract.WEBHOOK_PATH): "Stripe's endpoint, not an API for people: Stripe defines the "
    "body, the signature header authenticates it, and its events are Stripe's documented types",
}


def _operations(spec: dict) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, item in spec["paths"].items() for m in item if m in METHODS}


def _concrete(template: str) -> str:
    """A request path for a documented template: each ``{param}`` becomes a sample value."""
    return re.sub(r"\{[^}]+\}", "x_1", template)


def _prefix_of(path: str) -> str:
    return "/" + path.strip("/").split("/")[0]


def _documents() -> dict[str, set[tuple[str, str]]]:
    committed = {
        name: json.loads((DOCS / f"openapi-{name}.json").read_text()) for name in FUNCTION_OF_DOCUMENT
    }
    generated = {name: json.loads(text) for name, text in generate().items()}
    assert set(generated) == set(committed)
    return {name: _operations(committed[name]) | _operations(generated[name]) for name in committed}


def _unserved(documents: dict[str, set[tuple[str, str]]]) -> list[str]:
    """Documented routes the gateway does not send to the document's function."""
    return [
        f"{method} {template} ({name})"
        for name, operations in documents.items()
        for method, template in sorted(operations)
        if apigw.route_for(method, _concrete(template)) != FUNCTION_OF_DOCUMENT[name]
    ]


def _undocumented_prefixes(documents: dict[str, set[tuple[str, str]]]) -> list[str]:
    """Prefixes served by a function whose document names no route under them."""
    return [
        f"{prefix} ({function})"
        for name, function in FUNCTION_OF_DOCUMENT.items()
        for prefix in _prefixes_of(function)
        if not any(_prefix_of(path) == prefix for _, path in documents[name])
    ]


def test_every_documented_route_is_served_by_its_function() -> None:
    documents = _documents()
    assert all(documents.values())
    assert _unserved(documents) == []


def test_every_prefix_serves_documented_routes_of_its_function() -> None:
    assert _undocumented_prefixes(_documents()) == []


def test_a_route_missing_from_the_list_or_a_prefix_missing_from_the_routes_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = _documents()
    without = tuple(p for p in contract.STAFF_API_PREFIXES if p != "/clinicians")
    monkeypatch.setattr(contract, "STAFF_API_PREFIXES", without)
    assert "GET /clinicians/{clinician_id}/supervision (staff)" in _unserved(documents)
    monkeypatch.setattr(contract, "STAFF_API_PREFIXES", (*without, "/clinicians", "/supervisors"))
    assert _undocumented_prefixes(documents) == ["/supervisors (staff-api)"]
    # A staff path under a public prefix goes to the wrong function.
    moved = {**documents, "staff": {*documents["staff"], ("GET", "/setup/{token}/notes")}}
    assert _unserved(moved) == ["GET /setup/{token}/notes (staff)"]


def test_the_webhook_is_the_only_route_served_and_undocumented() -> None:
    documented = set().union(*_documents().values())
    for method, path in UNDOCUMENTED:
        assert (method, path) not in documented
        assert apigw.route_for(method, path) == apigw.WEBHOOK_FUNCTION
    assert apigw.route_for("GET", contract.WEBHOOK_PATH) is None
    # Nothing outside the prefixes and the webhook reaches a function.
    assert apigw.route_for("GET", "/webhooks") is None
    assert apigw.route_for("GET", "/internal/anything") is None


@pytest.mark.parametrize("app", [staff.app, public.app], ids=["staff", "public"])
def test_every_resolver_route_is_in_its_document(app: APIGatewayRestResolver) -> None:
    # A route left out of the schema would be served by its function yet documented nowhere.
    routes = [*app._static_routes, *app._dynamic_routes]
    assert routes
    hidden = [f"{r.method} {r.openapi_path}" for r in routes if not r.include_in_schema]
    assert hidden == []
