"""Carry clients' insurance attributes from before coverage existed (``copay_amount``,
``payer_forbids_fees``, the raw ``payer``) into coverage items, practice by practice.

Each practice is read with Queries of its own partition (never a Scan); a client with a copay, a
payer or a fee ban becomes billing type ``insurance`` with one primary coverage holding them, in
one transaction that also removes the old attributes. Re-running it changes nothing more. It
prints counts and client ids only (never what a coverage holds). Run it when the coverage code is
deployed: until then an unmigrated client is billed as self-pay.

Against the local system (``make run``)::

    uv run python scripts/migrate_coverage.py --local --practice prc_...

Against a deployed stack, with the operator's AWS credentials::

    uv run python scripts/migrate_coverage.py --stack Therabill-prod --region us-east-1 \\
        --practice prc_... --practice prc_...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from scripts.operator_tasks import point_at, where  # noqa: E402


def migrate(table: Any, practices: list[str], now: Any) -> list[str]:
    """Each practice migrated, one line of counts each (what the script prints)."""
    from therabill.coverage.store.migration import migrate_practice  # noqa: PLC0415 - after the path is set

    lines = []
    for practice_id in practices:
        result = migrate_practice(table, practice_id, now)
        lines.append(
            f"{practice_id}: {len(result.migrated)} given a coverage, {result.cleaned} cleaned, "
            f"{len(result.review)} to review (they had coverage already: {', '.join(result.review) or '-'})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/migrate_coverage.py", description=__doc__.splitlines()[0])
    parser.add_argument("--practice", action="append", required=True, help="a practice id (repeat for more)")
    where(parser)
    args = parser.parse_args(argv)
    point_at(args)
    from therabill.wiring import container  # noqa: PLC0415 - after the environment is set

    services = container()
    for line in migrate(services.table, args.practice, services.clock()):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
