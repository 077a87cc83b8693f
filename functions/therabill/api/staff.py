"""The staff API: every route of its routers on one resolver, ``app`` (the OpenAPI document is
generated from it). The Lambda entry point resolves each request with the one router that serves
it instead (``api/staff_routing.py``), so a cold start loads only that router's module."""

from __future__ import annotations

from therabill.api.staff_audit import router as audit_router
from therabill.api.staff_authorizations import router as authorizations_router
from therabill.api.staff_automation import router as automation_router
from therabill.api.staff_core import router as core_router
from therabill.api.staff_coverage import router as coverage_router
from therabill.api.staff_credits import router as credits_router
from therabill.api.staff_eligibility import router as eligibility_router
from therabill.api.staff_invoices import router as invoices_router
from therabill.api.staff_money import router as money_router
from therabill.api.staff_nightly import router as nightly_router
from therabill.api.staff_payers import router as payers_router
from therabill.api.staff_people import router as people_router
from therabill.api.staff_providers import router as providers_router
from therabill.api.staff_routing import new_resolver
from therabill.api.staff_services import router as services_router
from therabill.api.staff_sessions import router as sessions_router
from therabill.api.staff_shop import router as shop_router

app = new_resolver()
for _router in (
    core_router,
    coverage_router,
    payers_router,
    authorizations_router,
    eligibility_router,
    services_router,
    sessions_router,
    money_router,
    credits_router,
    automation_router,
    invoices_router,
    nightly_router,
    people_router,
    providers_router,
    audit_router,
    shop_router,
):
    app.include_router(_router)
