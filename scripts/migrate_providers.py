"""Move supervision items into clinicians' provider records (an operator task, run once per stack
after the provider records are deployed; a re-run changes nothing more).

Who supervises a clinician was once a supervision item of its own (``SUPERVISION#<stf>``); now it
is the supervisor on the clinician's provider record (``PROVIDER#<stf>``). Until a practice is
migrated both are read (the record wins where a clinician has one), so no supervisor is lost in
between. Each practice is read by Queries of its own partition (never a Scan); each item moves in
its own transaction (see ``therabill/providers/store/migration.py``), so a run stopped half way is
finished by running it again. Items still naming a free string are left for
``scripts/migrate_clinicians.py``: run that first. The practices are the ones with a nightly
schedule (every practice has one), or those named with ``--practice``. It prints counts and
staff ids only.

Against the local system (``make run``)::

    uv run python scripts/migrate_providers.py --local

Against a deployed stack, with the operator's AWS credentials::

    uv run python scripts/migrate_providers.py --stack Therabill-prod --region us-east-1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from scripts.operator_tasks import point_at, practice_ids, where  # noqa: E402 - after the path


def migrate(table: Any, practices: list[str]) -> list[str]:
    """Each practice migrated, one line of counts each (what the script prints)."""
    from therabill.providers.store.migration import migrate_practice  # noqa: PLC0415 - after the path is set

    lines = []
    for practice_id in practices:
        done = migrate_practice(table, practice_id)
        lines.append(
            f"{practice_id}: {len(done.moved)} supervisor(s) moved into provider records, "
            f"{len(done.superseded)} already held by one, {done.changed} changed meanwhile (run again), "
            f"{len(done.waiting)} naming a free string (run migrate_clinicians.py first: "
            f"{', '.join(done.waiting) or '-'})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/migrate_providers.py", description=__doc__.splitlines()[0])
    where(parser)
    parser.add_argument("--practice", action="append", help="a practice id (repeat); default: every practice")
    args = parser.parse_args(argv)
    point_at(args)
    from therabill.wiring import container  # noqa: PLC0415 - after the environment is set

    services = container()
    practices = practice_ids(services, args.practice)
    for line in migrate(services.table, practices):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
