"""Which of the staff API's routers serves a request, so that a cold start loads one router's
module (its models, its capabilities), not all of them.

``api/staff.py``'s ``app`` holds every route (the OpenAPI document is made from it); the entry
point resolves a request with ``resolver_for(event)``: a resolver that holds only the router the
path belongs to, built on first use and kept for the process. Each is made by ``new_resolver``
as ``app`` is (the body limits, the error handlers, the 404 naming the route), so a path no route
serves gets the same answer from either. tests/unit/test_staff_routing.py sends every documented
operation through ``module_for`` and checks the router it names serves it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from therabill.api import errors
from therabill.api.staff_common import StaffResolver

# The routers, in the order ``app`` includes them (the modules under therabill.api).
ROUTERS = (
    "staff_core",
    "staff_coverage",
    "staff_payers",
    "staff_authorizations",
    "staff_eligibility",
    "staff_services",
    "staff_sessions",
    "staff_money",
    "staff_credits",
    "staff_automation",
    "staff_invoices",
    "staff_nightly",
    "staff_people",
    "staff_providers",
    "staff_audit",
    "staff_shop",
)

# (leading path segments, router module): the first whose segments match the path's leading ones
# ("*" matches any one segment) names the router. The narrower pattern comes first.
_OWNERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("practice", "booking-payment"), "staff_services"),
    (("practice", "billing-provider"), "staff_providers"),
    (("practice", "billing-automation"), "staff_automation"),
    (("practice",), "staff_core"),
    (("services",), "staff_services"),
    (("clients", "*", "pricing"), "staff_services"),
    (("clients", "*", "responsibility"), "staff_services"),
    (("clients", "*", "booking-payment"), "staff_services"),
    (("clients", "*", "coverage", "*", "authorizations"), "staff_authorizations"),
    (("clients", "*", "coverage", "*", "eligibility"), "staff_eligibility"),
    (("clients", "*", "eligibility"), "staff_eligibility"),
    (("clients", "*", "coverage"), "staff_coverage"),
    (("clients", "*", "payments", "manual"), "staff_money"),
    (("clients", "*", "payments", "*", "refunds"), "staff_money"),
    (("clients", "*", "credits"), "staff_credits"),
    (("clients", "*", "autopay"), "staff_automation"),
    (("clients", "*", "billing-cadence"), "staff_automation"),
    (("clients",), "staff_core"),
    (("sessions",), "staff_sessions"),
    (("clinicians",), "staff_providers"),
    (("providers",), "staff_providers"),
    (("invoices",), "staff_invoices"),
    (("reports",), "staff_invoices"),
    (("nightly",), "staff_nightly"),
    (("billing-runs",), "staff_nightly"),
    (("staff",), "staff_people"),
    (("audit",), "staff_audit"),
    (("payers",), "staff_payers"),
    (("accepted-payers",), "staff_payers"),
    (("shop",), "staff_shop"),
)
_NO_OWNER = "staff_core"  # a path under no pattern: no route serves it, the resolver answers 404


def new_resolver() -> StaffResolver:
    """A staff resolver with no routes yet: the body limits, the caller's check and the APIs'
    error answers."""
    resolver = StaffResolver(enable_validation=True)
    errors.install(resolver)
    return resolver


def module_for(path: str) -> str:
    """The router module whose routes can serve ``path``."""
    segments = [s for s in path.split("/") if s]
    for pattern, module in _OWNERS:
        head = segments[: len(pattern)]
        if len(head) == len(pattern) and all(p in ("*", s) for p, s in zip(pattern, head, strict=True)):
            return module
    return _NO_OWNER


@cache
def resolver_of(module: str) -> StaffResolver:
    """A resolver with the routes of one router module (imported now, on its first request)."""
    resolver = new_resolver()
    resolver.include_router(importlib.import_module(f"therabill.api.{module}").router)
    return resolver


def resolver_for(event: Mapping[str, Any]) -> StaffResolver:
    """The resolver for one API Gateway (REST) event, by its path."""
    return resolver_of(module_for(str(event.get("path") or "/")))
