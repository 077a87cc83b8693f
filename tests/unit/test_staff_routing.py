"""The staff entry point resolves a request with the one router its path belongs to
(``therabill.api.staff_routing``); ``app`` holds them all for the OpenAPI document. The map from
path to router must send every documented operation to a router that serves it, and a request no
route serves must get the same 404 either way."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from devstack import apigw
from therabill import contract
from therabill.api import staff, staff_routing
from therabill.api.deps import serving
from therabill.core.ids import new_id
from therabill.staff.models import StaffMember

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "delete", "patch"}


def _documented() -> list[tuple[str, str]]:
    spec = json.loads((ROOT / "docs" / "openapi-staff.json").read_text())
    return sorted((m.upper(), path) for path, item in spec["paths"].items() for m in item if m in METHODS)


def _serves(resolver: APIGatewayRestResolver, method: str, path: str) -> bool:
    routes = resolver._static_routes + resolver._dynamic_routes
    return any(r.method == method and r.rule.match(path) for r in routes)


def _event(method: str, path: str) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {},
        "requestContext": {"httpMethod": method, "path": f"/prod{path}", "stage": "prod"},
        "body": None,
        "isBase64Encoded": False,
    }


def test_the_documented_operations_are_many() -> None:
    assert len(_documented()) > 80


@pytest.mark.parametrize(("method", "template"), _documented())
def test_every_documented_operation_goes_to_a_router_that_serves_it(method: str, template: str) -> None:
    path = re.sub(r"\{[^}]+\}", "x_1", template)
    module = staff_routing.module_for(path)
    assert _serves(staff_routing.resolver_of(module), method, path), f"{method} {template} → {module}"


PRC, STF = new_id("prc"), new_id("stf")


class _Acting:
    """Services whose staff check lets the token's member act (as owner)."""

    @property
    def staff(self) -> _Acting:
        return self

    def authenticate(self, practice_id: str, staff_id: str, sub: str) -> StaffMember:
        return StaffMember(
            id=staff_id,
            practice_id=practice_id,
            email="o@p.test",
            name="O",
            role="owner",
            status="active",
            sub=sub,
            created_at=datetime.now(UTC),
            version=1,
        )


def test_every_router_is_one_the_full_app_includes() -> None:
    served_by_app = {(r.method, r.rule.pattern) for r in staff.app._static_routes + staff.app._dynamic_routes}
    per_router = [
        {(r.method, r.rule.pattern) for r in resolver._static_routes + resolver._dynamic_routes}
        for resolver in map(staff_routing.resolver_of, staff_routing.ROUTERS)
    ]
    assert set().union(*per_router) == served_by_app
    assert sum(map(len, per_router)) == len(served_by_app)  # each route on one router only


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("GET", "/"),
        ("DELETE", "/practice"),
        ("GET", "/practice/booking-payment/x_1"),
        ("GET", "/clients/x_1/pricing"),
        ("POST", "/clients/x_1/payments/x_2/refunds/x_3"),
        ("GET", "/sessions/x_1/nowhere"),
    ],
)
def test_a_path_no_route_serves_gets_the_same_404_naming_it(method: str, path: str) -> None:
    """(As a staff member who may act: the caller is checked before routing.)"""
    event = _event(method, path)
    event["requestContext"]["authorizer"] = {"claims": apigw.staff_claims(PRC, sub="u", staff_id=STF)}
    with serving(_Acting()):  # type: ignore[arg-type]  # only the staff check is used
        routed = staff_routing.resolver_for(event).resolve(event, None)  # type: ignore[arg-type]
        full = staff.app.resolve(event, None)  # type: ignore[arg-type]
    assert routed["statusCode"] == full["statusCode"] == contract.NO_ROUTE_STATUS == 404
    assert json.loads(routed["body"]) == json.loads(full["body"]) == contract.no_route_body(method, path)


def test_a_request_loads_only_the_router_that_serves_it() -> None:
    code = (
        "import sys\n"
        "from therabill.entrypoints import staff_api\n"
        "from therabill.api.staff_routing import resolver_for\n"
        "resolver_for({'path': '/practice'})\n"
        "print(' '.join(m for m in sys.modules if m.startswith('therabill.api.staff_')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions",
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    loaded = set(out.stdout.split())
    assert "therabill.api.staff_core" in loaded
    assert loaded.isdisjoint(f"therabill.api.{m}" for m in staff_routing.ROUTERS if m != "staff_core")
