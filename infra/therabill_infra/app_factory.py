"""Builds the CDK app: context from cdk.json (also when run without the CDK CLI), the stack, cdk-nag."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Tags

from therabill_infra.contract import contract
from therabill_infra.nag import add_nag_checks
from therabill_infra.paths import CDK_JSON, DEFAULT_OUTDIR
from therabill_infra.settings import Settings
from therabill_infra.stack import TherabillStack


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` block of cdk.json (feature flags and defaults).

    The CDK CLI passes it to the app itself; ``python infra/app.py`` and the tests do not run
    through the CLI, so the app reads it too. Values given by the CLI still win.
    """
    if not CDK_JSON.exists():
        return {}
    return dict(json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {}))


def build_app(
    context: Mapping[str, Any] | None = None,
    *,
    outdir: str | Path | None = None,
    nag: bool = True,
) -> tuple[App, TherabillStack]:
    merged = {**cdk_json_context(), **(context or {})}
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = DEFAULT_OUTDIR
    app = App(context=merged, outdir=str(outdir) if outdir is not None else None)
    settings = Settings.from_context(app.node)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    stack = TherabillStack(
        app,
        settings.stack_name,
        settings=settings,
        description=f"Therabill ({settings.stage}): billing and payments back end for therapy practices",
        env=Environment(account=account, region=region) if account or region else None,
        termination_protection=settings.is_production,
    )
    Tags.of(app).add("project", contract.SERVICE_NAME)
    Tags.of(app).add("stage", settings.stage)
    if nag:
        add_nag_checks(app)
    return app, stack
