"""Operator tasks for platform staff, run with their own credentials.

``create-practice``: a practice and its owner, made by the same sign-up service the public form
uses (``SignupService.register``: exactly once per email, finished by a re-run; no rate limit),
without the form. The owner gets the user pool's invitation; an address that already has an
account gets the "you already have an account" email instead, as on the form.

``archive-audit``: copy a practice's audit records of a period to the write-once archive again
(idempotent: a record already there is left as it is). Run it when the audit archive's failure
queue (``AuditArchiveDLQ``) holds a message more than 24 hours old, which the stream no longer
replays: the period is the message's, the practices those of that period.

Against the local system (``make run``)::

    uv run python scripts/operator_tasks.py create-practice --local \\
        --name "Harbor Speech" --email owner@harbor.localhost --time-zone America/Chicago --owner-name "Ada"

(the invitation lands in the local mailbox, ``GET /_local/emails``). Against a deployed stack, with
the operator's AWS credentials (the public API function's configuration gives the table, user
pool, scheduler and sender the service needs)::

    uv run python scripts/operator_tasks.py create-practice --stack Therabill-prod --region us-east-1 \\
        --name "Harbor Speech" --email owner@harbor.example --time-zone America/Chicago --owner-name "Ada"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

PUBLIC_API = "public-api"
AUDIT_ARCHIVE = "audit-archive"
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def local_environment(state_path: Path) -> dict[str, str]:
    """The running local system's function environment (``.devstack/state.json``)."""
    if not state_path.exists():
        raise SystemExit(f"{state_path} not found: start the local system first (make run)")
    state = json.loads(state_path.read_text())
    return {**LOCAL_AWS, **state["environment"]}


def stack_environment(stack: str, region: str | None, function: str = PUBLIC_API) -> dict[str, str]:
    """A deployed function's environment (the public API's by default), found through the stack's
    resources."""
    import boto3  # noqa: PLC0415 - only for a deployed stack

    from therabill import contract  # noqa: PLC0415 - after the path is set

    session = boto3.session.Session(region_name=region)
    handler = next(spec.handler for spec in contract.FUNCTIONS if spec.name == function)
    lambdas = session.client("lambda")
    # list_stack_resources pages (describe_stack_resources stops at 100; the stack has more).
    pages = session.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack)
    resources = [r for page in pages for r in page["StackResourceSummaries"]]
    for resource in resources:
        if resource["ResourceType"] != "AWS::Lambda::Function":
            continue
        config = lambdas.get_function_configuration(FunctionName=resource["PhysicalResourceId"])
        if config.get("Handler") == handler:
            env: dict[str, str] = config.get("Environment", {}).get("Variables", {})
            return {**env, "AWS_REGION": session.region_name or ""}
    raise SystemExit(f"no {function} function found in stack {stack}")


def point_at(args: argparse.Namespace, function: str = PUBLIC_API) -> None:
    """Set the environment the runtime reads (before it is imported) to the system ``where``'s
    arguments name: the local system's, or a deployed function's configuration."""
    os.environ.update(
        local_environment(args.state) if args.local else stack_environment(args.stack, args.region, function)
    )
    if args.local:
        os.environ.pop("AWS_PROFILE", None)


def practice_ids(services: Any, named: list[str] | None) -> list[str]:
    """The practices ``--practice`` names, else every practice (each has a nightly schedule)."""
    if named:
        return list(named)
    if services.nightly_schedules is None:
        raise SystemExit("no scheduler configured: name the practices with --practice")
    return list(services.nightly_schedules.practice_ids())


def create_practice(args: argparse.Namespace) -> int:
    point_at(args)
    from pydantic import ValidationError  # noqa: PLC0415 - after the environment is set

    from therabill.api.public_signup import SignupIn  # noqa: PLC0415
    from therabill.signup.models import SignupForm  # noqa: PLC0415
    from therabill.wiring import container  # noqa: PLC0415

    try:
        body = SignupIn(
            email=args.email, practice_name=args.name, time_zone=args.time_zone, name=args.owner_name
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"refused: {problems}") from None
    services = container()
    if args.local:
        _play_local_cognito(services)
    form = SignupForm(
        email=body.email, practice_name=body.practice_name, time_zone=body.time_zone, name=body.name
    )
    outcome = services.signup.register(form)
    practice_id = services.signup.practice_of(body.email)
    if outcome == "created":
        print(
            f"created practice {practice_id} ({body.practice_name}); "
            f"the owner's invitation went to {body.email}"
        )
    elif outcome == "reinvited":
        print(f"{body.email} was invited before and has not signed in: the invitation was sent again")
    else:
        print(f"{body.email} already has an account: it was emailed how to sign in (nothing created)")
    return 0


def archive_audit(args: argparse.Namespace) -> int:
    point_at(args, AUDIT_ARCHIVE)
    from therabill.audit.archive import backfill  # noqa: PLC0415 - after the environment is set
    from therabill.core.ids import is_id  # noqa: PLC0415
    from therabill.wiring import container  # noqa: PLC0415

    if not is_id(args.practice, "prc"):
        raise SystemExit(f"refused: {args.practice!r} is not a practice id (prc_…)")
    start, end = _day(args.start), _day(args.end)
    if end <= start:
        raise SystemExit("refused: --end must be after --start")
    services = container()
    count = backfill(services.audit, services.audit_archive, args.practice, start, end)
    print(f"{count} audit records of {args.practice} from {args.start} to {args.end} are in the archive")
    return 0


def _day(text: str) -> Any:
    from datetime import UTC, datetime  # noqa: PLC0415

    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise SystemExit(f"refused: {text!r} is not a date (YYYY-MM-DD, UTC)") from None


def _play_local_cognito(services: Any) -> None:
    """Locally the user pool's invitation is played in this process, as the local system does."""
    from devstack.functions import FunctionRegistry  # noqa: PLC0415 - local only
    from devstack.local_cognito import LocalCognito  # noqa: PLC0415

    from therabill.adapters import aws  # noqa: PLC0415

    sender = services.settings.email_sender or "billing@therabill.localhost"
    LocalCognito(invoke=FunctionRegistry().invoke, ses=aws.client("ses"), sender=sender).install(
        aws.session()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/operator_tasks.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-practice", help="a practice and its owner, as sign-up makes them")
    create.add_argument("--name", required=True, help="the practice's name")
    create.add_argument("--email", required=True, help="the owner's email (they sign in with it)")
    create.add_argument("--time-zone", required=True, help="the practice's IANA zone, e.g. America/Chicago")
    create.add_argument("--owner-name", required=True, help="the owner's name")
    where(create)
    archive = commands.add_parser(
        "archive-audit", help="copy a practice's audit records to the archive again"
    )
    archive.add_argument("--practice", required=True, help="the practice id (prc_…)")
    archive.add_argument("--start", required=True, help="the first day, YYYY-MM-DD (UTC)")
    archive.add_argument("--end", required=True, help="the day after the last, YYYY-MM-DD (UTC)")
    where(archive)
    args = parser.parse_args(argv)
    return create_practice(args) if args.command == "create-practice" else archive_audit(args)


def where(command: argparse.ArgumentParser) -> None:
    """The arguments that say which system an operator task acts on: ``--local`` or ``--stack``
    (with ``--region``), and the local system's state file."""
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="the local system started by make run")
    where.add_argument("--stack", help="a deployed stack, e.g. Therabill-prod (your AWS credentials)")
    command.add_argument("--region", default=None, help="the deployed stack's region")
    command.add_argument(
        "--state", type=Path, default=ROOT / ".devstack" / "state.json", help="the local system's state file"
    )


if __name__ == "__main__":
    sys.exit(main())
