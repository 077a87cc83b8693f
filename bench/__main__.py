"""``python -m bench``: cold starts per Lambda entry module, as deployed, then requests per operation.

uv run python -m bench                      # the full report (15 fresh processes per module and form)
uv run python -m bench --only imports --project-python   # cold starts on this Python, not 3.13
uv run python -m bench --quick              # 3 runs per module
uv run python -m bench --only slice         # just the requests per operation
uv run python -m bench --functions stripe-webhook --json /tmp/bench.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=15,
        help="fresh processes per module for the cold import times (default 15)",
    )
    parser.add_argument("--quick", action="store_true", help="--runs 3 (the smoke test uses it)")
    parser.add_argument(
        "--only",
        choices=("imports", "slice", "x12", "nightly"),
        help="run one part of the benchmark (the nightly run: only when named)",
    )
    parser.add_argument(
        "--nightly-sessions", type=int, default=10_000, help="--only nightly: ready sessions (default 10,000)"
    )
    parser.add_argument(
        "--nightly-practices", type=int, default=200, help="--only nightly: practices (default 200)"
    )
    parser.add_argument(
        "--nightly-processes",
        type=int,
        default=1,
        help="--only nightly: share the practices over this many processes (default 1)",
    )
    parser.add_argument(
        "--nightly-cadence",
        choices=("nightly", "monthly"),
        default="nightly",
        help="--only nightly: the practices' cadence (monthly: a month of sessions consolidated)",
    )
    parser.add_argument(
        "--functions",
        help="comma-separated function names from therabill.contract "
        "to time (default: all); the baseline is always timed",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="import with tracing on, as deployed (default: POWERTOOLS_TRACE_DISABLED=true)",
    )
    parser.add_argument(
        "--plain-env",
        action="store_true",
        help="do not set the Lambda runtime's variables (LAMBDA_TASK_ROOT, ...)",
    )
    parser.add_argument(
        "--project-python",
        action="store_true",
        help="time the cold starts on this Python, not the Lambda runtime's (used when this machine has it)",
    )
    parser.add_argument("--no-importtime", action="store_true", help="skip the -X importtime breakdown")
    parser.add_argument("--no-x12", action="store_true", help="skip the X12 throughput (its own --only x12)")
    parser.add_argument(
        "--no-floors", action="store_true", help="time the baseline alone, not the stack's floors"
    )
    parser.add_argument(
        "--detail", action="store_true", help="list every DynamoDB request (keys, error codes) per operation"
    )
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 3
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for path in (ROOT, ROOT / "functions"):  # the runtime package and the test harness
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from bench import cold_start, deployed, slice_ops

    def progress(message: str) -> None:
        print(f"  ... {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": args.runs,
    }
    sections: list[str] = []
    if args.only in (None, "imports"):
        only = {f.strip() for f in args.functions.split(",") if f.strip()} if args.functions else None
        options = cold_start.EnvOptions(lambda_like=not args.plain_env, tracing=args.tracing)
        python = deployed.interpreter(prefer_runtime=not args.project_python)
        imports = cold_start.measure(
            args.runs,
            only=only,
            importtime=not args.no_importtime,
            options=options,
            python=python,
            progress=progress,
            floors=not args.no_floors,
        )
        results["cold_imports_environment"] = options.describe()
        results["cold_imports_python"] = python.describe()
        by_name = {r.name: r for r in imports}
        floors = [by_name.get(cold_start.floor_of(r.name), imports[0]) for r in imports]
        results["cold_imports"] = [r.as_dict(imports[0], f) for r, f in zip(imports, floors, strict=True)]
        sections.append(cold_start.render(imports, args.runs, options, python.describe()))
    if args.only in (None, "slice"):
        ops = slice_ops.measure(progress=progress)
        results["requests_per_operation"] = ops.as_dict()
        sections.append(slice_ops.render(ops, detail=args.detail))
    if args.only == "x12" or (args.only is None and not args.no_x12):
        from bench import x12_ops

        x12 = x12_ops.measure()
        results["x12"] = x12.as_dict()
        sections.append(x12_ops.render(x12))
    if args.only == "nightly":  # long (it seeds and bills a whole night): only when asked
        from bench import nightly

        night = nightly.measure(
            practices=args.nightly_practices,
            sessions=args.nightly_sessions,
            processes=args.nightly_processes,
            progress=progress,
            cadence=args.nightly_cadence,
        )
        results["nightly"] = night.as_dict()
        sections.append(nightly.render(night))
    elapsed = time.perf_counter() - started
    results["elapsed_seconds"] = round(elapsed, 1)
    print(f"\nTherabill bench (Python {results['python']}, {results['machine']})\n")
    print("\n\n".join(sections))
    print(f"\n(bench took {elapsed:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
