"""Migrate free-string clinicians to staff members (an operator task, run once per stack; a re-run
changes nothing more).

Sessions and supervision once named a clinician by any string. For each practice this makes one
member with no sign-in (role clinician, named by the string) per distinct string and rewrites the
practice's sessions and supervision items to the member's staff id (see
``therabill/sessions/clinicians.py``). Each practice is read by Queries of its own partition; the
practices are the ones with a nightly schedule (every practice has one), or those named with
``--practice``.

Against the local system (``make run``)::

    uv run python scripts/migrate_clinicians.py --local

Against a deployed stack, with the operator's AWS credentials (the public API function's
configuration gives the table and the scheduler group)::

    uv run python scripts/migrate_clinicians.py --stack Therabill-prod --region us-east-1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from scripts.operator_tasks import point_at, practice_ids, where  # noqa: E402 - after the path


def migrate(args: argparse.Namespace) -> int:
    point_at(args)
    from therabill.wiring import container  # noqa: PLC0415 - after the environment is set

    services = container()
    practices = practice_ids(services, args.practice)
    for done in services.clinician_migration.run(practices):
        made = ", ".join(f"{name!r} -> {sid}" for name, sid in done.clinicians.items()) or "none"
        print(
            f"{done.practice_id}: clinicians {made}; "
            f"{done.sessions} session(s) and {done.supervisions} supervision item(s) rewritten"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/migrate_clinicians.py", description=__doc__.splitlines()[0]
    )
    where(parser)
    parser.add_argument("--practice", action="append", help="a practice id (repeat); default: every practice")
    return migrate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
