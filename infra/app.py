#!/usr/bin/env python3
"""CDK entry point: ``uv run cdk synth`` (cdk.json runs this file) or ``uv run python infra/app.py``.

Run directly, it accepts the CLI's context syntax: ``python infra/app.py -c stage=alice``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from therabill_infra.app_factory import build_app


def _context_from_argv(argv: list[str]) -> dict[str, str]:
    context: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        if arg in ("-c", "--context"):
            pair = next(args, "")
        elif arg.startswith("--context="):
            pair = arg.removeprefix("--context=")
        else:
            raise SystemExit(f"unknown argument {arg!r}; usage: app.py [-c key=value ...]")
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"context must be key=value (got {pair!r})")
        context[key] = value
    return context


def main() -> None:
    app, _ = build_app(_context_from_argv(sys.argv[1:]))
    app.synth()


if __name__ == "__main__":
    main()
