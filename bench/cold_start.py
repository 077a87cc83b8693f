"""Cold import time of each Lambda entry module, measured in fresh Python processes.

Each measurement is one new interpreter (``sys.executable``) with a clean environment that times
``importlib.import_module(<entry module>)`` with ``time.perf_counter`` and prints the result; the
parent takes the median over the runs. Runs are interleaved (every target once per round, in a
shuffled order) so that load on the machine drifts over all targets alike. One discarded warm-up
run per target first fills ``__pycache__`` and the OS file cache: the figures are "new process,
compiled bytecode on a warm disk", which is what a Lambda cold start with a bytecode-compiled layer
sees, minus the first read from the layer's storage.

One more run per target under ``-X importtime`` gives where the time goes (self time summed per
top-level package; that run is not timed, the flag slows the import down).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE_MODULE = "bench.baseline_handler"
BASELINE_NAME = "baseline (boto3 + Powertools)"
_MARK = "--bench-import-start--"
# Heavy packages whose presence after the import is worth a column (stripe: the webhook rule).
WATCHED = ("stripe", "boto3", "botocore", "pydantic", "aws_xray_sdk")

# Runs inside the child: sys.argv[1] is the module. Nothing but importlib/sys/time is imported
# before the clock starts; json only after it stops (and after sys.modules is inspected).
_CHILD = f"""
import importlib, sys, time
name = sys.argv[1]
sys.stderr.write({_MARK!r} + "\\n"); sys.stderr.flush()
t0 = time.perf_counter()
importlib.import_module(name)
elapsed = time.perf_counter() - t0
facts = {{"seconds": elapsed, "modules": len(sys.modules),
         "loaded": [p for p in {WATCHED!r} if p in sys.modules]}}
import json
print(json.dumps(facts))
"""


@dataclass(frozen=True)
class Target:
    name: str  # the function name from therabill.contract, or the baseline's label
    module: str
    memory_mb: int = 512


@dataclass
class ImportResult:
    name: str
    module: str
    seconds: list[float]
    stripe_imported: bool
    modules_loaded: int
    loaded: list[str]  # which of WATCHED were in sys.modules after the import
    top_packages: list[tuple[str, float]] = field(default_factory=list)  # (package, self ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def min_ms(self) -> float:
        return min(self.seconds) * 1000

    @property
    def max_ms(self) -> float:
        return max(self.seconds) * 1000

    def as_dict(self, baseline_ms: float) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            median_ms=round(self.median_ms, 2),
            min_ms=round(self.min_ms, 2),
            max_ms=round(self.max_ms, 2),
            ratio_to_baseline=round(self.median_ms / baseline_ms, 3),
        )
        return out


def entry_targets(only: set[str] | None = None) -> list[Target]:
    """The entry modules named by ``FUNCTIONS[*].handler`` in therabill.contract."""
    from therabill.contract import FUNCTIONS

    targets = [Target(f.name, f.handler.rsplit(".", 1)[0], f.memory_mb) for f in FUNCTIONS]
    if only:
        unknown = only - {t.name for t in targets}
        if unknown:
            raise SystemExit(f"unknown function(s) {sorted(unknown)}; known: {[t.name for t in targets]}")
        targets = [t for t in targets if t.name in only]
    return targets


@dataclass(frozen=True)
class EnvOptions:
    lambda_like: bool = True  # the variables the Lambda runtime sets (see child_env)
    tracing: bool = False  # False: POWERTOOLS_TRACE_DISABLED=true; True: as deployed (Tracing.ACTIVE)

    def describe(self) -> str:
        where = "Lambda-like environment" if self.lambda_like else "plain environment (not Lambda-like)"
        trace = "tracing on, as deployed" if self.tracing else "POWERTOOLS_TRACE_DISABLED=true"
        return f"{where}, {trace}"


def child_env(target: Target, options: EnvOptions) -> dict[str, str]:
    """A clean environment: nothing from the caller's shell but PATH/HOME/locale.

    Lambda-like matters: with ``LAMBDA_TASK_ROOT`` set the X-Ray SDK (imported by Powertools'
    Tracer even when tracing is disabled) uses its local sampler; without it, it builds two
    botocore X-Ray clients at import (aws/aws-xray-sdk-python#273, #311), a few hundred ms that
    a Lambda function never pays. (It also touches /tmp/.aws-xray/initialized, as in Lambda.)
    """
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)]),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    if not options.tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    if options.lambda_like:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        env.update(
            {
                "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
                "AWS_LAMBDA_FUNCTION_NAME": f"therabill-{target.name.split(' ')[0]}",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(target.memory_mb),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
                "POWERTOOLS_SERVICE_NAME": "therabill",
                "POWERTOOLS_METRICS_NAMESPACE": "Therabill",
            }
        )
    return env


def _run_child(
    target: Target, options: EnvOptions, *, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", _CHILD, target.module]
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env=child_env(target, options),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"importing {target.module} failed in a fresh process:\n{proc.stderr[-3000:]}")
    return proc


def probe(target: Target, options: EnvOptions) -> dict[str, Any]:
    """One fresh-process import of the target's module: {"seconds", "stripe", "modules"}."""
    proc = _run_child(target, options)
    facts: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return facts


def top_packages(target: Target, options: EnvOptions, n: int = 5) -> list[tuple[str, float]]:
    """Self import time (ms) summed per top-level package, heaviest first, from -X importtime."""
    stderr = _run_child(target, options, importtime=True).stderr
    per_package: dict[str, float] = defaultdict(float)
    for line in stderr.split(_MARK, 1)[-1].splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|", 2)
        per_package[name.strip().split(".")[0]] += int(self_us) / 1000
    ranked = sorted(per_package.items(), key=lambda kv: kv[1], reverse=True)
    return [(name, round(ms, 1)) for name, ms in ranked[:n]]


def measure(
    runs: int,
    *,
    only: set[str] | None = None,
    importtime: bool = True,
    options: EnvOptions = EnvOptions(),
    progress: Any = None,
) -> list[ImportResult]:
    """The baseline first, then each entry module (in contract order)."""
    targets = [Target(BASELINE_NAME, BASELINE_MODULE), *entry_targets(only)]
    samples: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    for t in targets:  # warm-up: compile bytecode, fill the file cache; discarded
        probe(t, options)
    for round_no in range(runs):
        order = list(targets)
        random.Random(round_no).shuffle(order)
        for t in order:
            samples[t.name].append(probe(t, options))
        if progress:
            progress(f"cold imports: round {round_no + 1}/{runs}")
    results = []
    for t in targets:
        got = samples[t.name]
        results.append(
            ImportResult(
                name=t.name,
                module=t.module,
                seconds=[s["seconds"] for s in got],
                # Deterministic per module; any() so a flaky import order could not hide it.
                stripe_imported=any("stripe" in s["loaded"] for s in got),
                modules_loaded=max(s["modules"] for s in got),
                loaded=sorted({p for s in got for p in s["loaded"]}, key=WATCHED.index),
                top_packages=top_packages(t, options) if importtime else [],
            )
        )
    return results


def render(results: list[ImportResult], runs: int, options: EnvOptions = EnvOptions()) -> str:
    baseline = results[0].median_ms
    lines = [
        f"Cold import time per Lambda entry module (median of {runs} fresh processes; "
        "warm disk cache, compiled bytecode)",
        f"{options.describe()}; 'x base' and '+ms' compare each median with the baseline's.",
        "",
    ]
    header = (
        f"{'function':<30} {'module':<44} {'median ms':>9} {'min':>7} {'max':>7} "
        f"{'x base':>6} {'+ms':>7} {'modules':>7}  {'stripe?':<7}  also loaded"
    )
    lines += [header, "-" * len(header)]
    for r in results:
        extra = "" if r.module == BASELINE_MODULE else f"{r.median_ms - baseline:+7.0f}"
        lines.append(
            f"{r.name:<30} {r.module:<44} {r.median_ms:>9.0f} {r.min_ms:>7.0f} {r.max_ms:>7.0f} "
            f"{r.median_ms / baseline:>6.2f} {extra:>7} {r.modules_loaded:>7}  "
            f"{'YES' if r.stripe_imported else 'no':<7}  "
            f"{' '.join(p for p in r.loaded if p != 'stripe') or '-'}"
        )
    webhook = next((r for r in results if r.name == "stripe-webhook"), None)
    if webhook is not None:
        verdict = "VIOLATED" if webhook.stripe_imported else "holds"
        lines += [
            "",
            f"Rule 'stripe-webhook never imports stripe': {verdict}. "
            "(The other functions build the Stripe adapter lazily, so none should import it either.)",
        ]
    if any(r.top_packages for r in results):
        lines += [
            "",
            "Where the import time goes (-X importtime, self time summed per top-level package, "
            "top 5; one run, the flag inflates times):",
        ]
        for r in results:
            parts = ", ".join(f"{name} {ms:.0f}" for name, ms in r.top_packages)
            lines.append(f"  {r.name:<30} {parts}  (ms)")
    return "\n".join(lines)
