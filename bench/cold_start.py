"""Cold start per Lambda entry module, measured as deployed: import, then the first call.

Lambda's code directories are read-only, so the bench runs every child on a read-only-as-deployed
copy of the code (``bench.deployed``): ``-S`` (none of this environment's site-packages),
``PYTHONDONTWRITEBYTECODE=1`` (no ``__pycache__`` written), the function code and the locked
runtime dependencies on ``PYTHONPATH`` as /var/task and /opt/python. Two forms: ``compiled`` (the
code ships unchecked-hash pycs, as deploy builds it when the runtime's Python is at hand) and
``source`` (it ships source only, and every cold start compiles it).

Each measurement is one new interpreter that times ``importlib.import_module(<entry module>)``,
then one call of its ``lambda_handler`` with a representative event (``FIRST_CALL_EVENTS``)
against moto in server mode: the first call's deferred imports (boto3, the composition root's
capabilities) and its first requests are part of a cold start too. The figures are the child's
CPU time (``time.process_time``): with a warm disk a cold start is CPU work, and CPU time neither
counts the emulator's answers nor the other processes of a shared machine (the wall times, less
the emulator's, are in the JSON). Runs are interleaved (every target once per round, shuffled),
and the parent takes medians. The baseline is the smallest boto3 + Powertools handler
(``bench.baseline_handler``) measured the same way.

One more run per target (compiled form) under ``-X importtime`` gives where the time goes (self
time summed per top-level package, import and first call; the flag slows things down).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.deployed import FORMS, Interpreter, Tree

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
BASELINE_MODULE = "bench.baseline_handler"
BASELINE_NAME = "baseline (boto3 + Powertools)"
# Floors: the baseline plus what the chosen stack adds before any Therabill code (pydantic; for
# the API functions also Powertools' validating resolver). Each entry module is set against the
# floor of its kind too, so the part of its cold start that Therabill's own code can change shows.
MODEL_FLOOR_NAME = "floor: baseline + pydantic"
API_FLOOR_NAME = "floor: + validating resolver"
FLOORS = (
    (MODEL_FLOOR_NAME, "bench.floor_model_handler"),
    (API_FLOOR_NAME, "bench.floor_api_handler"),
)
API_FUNCTIONS = frozenset({"staff-api", "public-api"})  # served by Powertools' validating resolver


def floor_of(name: str) -> str:
    """The floor an entry module is set against (a reference target is its own)."""
    if name == BASELINE_NAME or name in dict(FLOORS):
        return name
    return API_FLOOR_NAME if name in API_FUNCTIONS else MODEL_FLOOR_NAME


_MARK = "--bench-import-start--"
# Heavy packages whose presence is worth a column (stripe: the webhook rule).
WATCHED = ("stripe", "boto3", "botocore", "pydantic", "aws_xray_sdk", "fpdf")
# The event each function's first call gets: a cheap, representative request.
FIRST_CALL_EVENTS = {
    BASELINE_NAME: "api/staff_get_practice.json",
    MODEL_FLOOR_NAME: "api/staff_get_practice.json",
    API_FLOOR_NAME: "api/staff_get_practice.json",
    "staff-api": "api/staff_get_practice.json",
    "public-api": "api/public_setup_page.json",
    "stripe-webhook": "api/stripe_webhook.json",
    "stripe-worker": "sqs/stripe_events_batch.json",
    "payments-reconciler": "scheduler/payments_reconciler.json",
    "nightly-dispatch": "scheduler/nightly_run.json",
    "nightly-worker": "sqs/nightly_batch.json",
    "invoice-sweep": "scheduler/invoice_sweep.json",
    "staff-messages": "cognito/custom_message_invitation.json",
    "audit-archive": "dynamodb/audit_record_inserted.json",
    "eligibility-checks": "scheduler/eligibility_batch.json",
}

# Runs inside the child: argv is the module, the event file and the function's name. Nothing but
# importlib/sys/time is imported before the clock starts; json only after the import is timed.
# The time botocore spends waiting for the emulator (URLLib3Session.send, wrapped when botocore
# imports it) is taken out of the first call: moto's latency on a busy machine is not a cold start.
_CHILD = f"""
import importlib, importlib.abc, importlib.util, sys, time
name, event_path, function_name = sys.argv[1:4]
waited = [0.0, 0]

class _WrapSend(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "botocore.httpsession":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            send = module.URLLib3Session.send
            def timed(self, request):
                t = time.perf_counter()
                try:
                    return send(self, request)
                finally:
                    waited[0] += time.perf_counter() - t
                    waited[1] += 1
            module.URLLib3Session.send = timed
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _WrapSend())
sys.stderr.write({_MARK!r} + "\\n"); sys.stderr.flush()
c0, t0 = time.process_time(), time.perf_counter()
module = importlib.import_module(name)
c1, t1 = time.process_time(), time.perf_counter()
after_import = [p for p in {WATCHED!r} if p in sys.modules]
modules = len(sys.modules)
import json
with open(event_path, encoding="utf-8") as f:
    event = json.load(f)
class Context:
    function_name = function_name
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    aws_request_id = "bench-first-call"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
c2, t2 = time.process_time(), time.perf_counter()
try:
    result = module.lambda_handler(event, Context())
    outcome = str(result.get("statusCode", "ok")) if isinstance(result, dict) else "ok"
except Exception as exc:
    outcome = type(exc).__name__
c3, t3 = time.process_time(), time.perf_counter()
print(json.dumps({{"import": c1 - c0, "call": c3 - c2, "import_wall": t1 - t0,
                  "call_wall": t3 - t2 - waited[0], "waited": waited[0],
                  "requests": waited[1], "modules": modules, "outcome": outcome,
                  "after_import": after_import,
                  "after_call": [p for p in {WATCHED!r} if p in sys.modules]}}))
"""


@dataclass(frozen=True)
class Target:
    name: str  # the function name from therabill.contract, or the baseline's label
    module: str
    memory_mb: int = 512


@dataclass
class FormResult:
    import_seconds: list[float]
    call_seconds: list[float]
    wall_seconds: list[float]  # import + first call, wall clock, less the emulator's answers
    outcome: str  # the first call's status code (or "ok", or the exception's name)
    requests: int  # AWS requests the first call sent (their wait for the emulator is not counted)
    modules_after_import: int
    loaded_after_import: list[str]
    loaded_after_call: list[str]

    @property
    def import_ms(self) -> float:
        return statistics.median(self.import_seconds) * 1000

    @property
    def call_ms(self) -> float:
        return statistics.median(self.call_seconds) * 1000

    @property
    def total_ms(self) -> float:
        return (
            statistics.median(i + c for i, c in zip(self.import_seconds, self.call_seconds, strict=True))
            * 1000
        )


@dataclass
class ColdStartResult:
    name: str
    module: str
    forms: dict[str, FormResult]
    top_packages: list[tuple[str, float]] = field(default_factory=list)  # (package, self ms)

    @property
    def stripe_imported(self) -> bool:
        return any("stripe" in f.loaded_after_call for f in self.forms.values())

    def as_dict(self, baseline: ColdStartResult, floor: ColdStartResult | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "module": self.module, "top_packages": self.top_packages}
        out["stripe_imported"] = self.stripe_imported
        out["floor"] = (floor or baseline).name
        for form, r in self.forms.items():
            base = baseline.forms[form]
            low = (floor or baseline).forms[form]
            out[form] = {
                **asdict(r),
                "import_ms": round(r.import_ms, 2),
                "first_call_ms": round(r.call_ms, 2),
                "total_ms": round(r.total_ms, 2),
                "ratio_to_baseline": round(r.total_ms / base.total_ms, 3),
                "import_ratio_to_baseline": round(r.import_ms / base.import_ms, 3),
                "ratio_to_floor": round(r.total_ms / low.total_ms, 3),
            }
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


def child_env(
    target: Target, python: Interpreter, tree: Tree, function_env: dict[str, str], options: EnvOptions
) -> dict[str, str]:
    """A clean environment: nothing from the caller's shell but PATH/HOME/locale.

    Lambda-like matters: with ``LAMBDA_TASK_ROOT`` set the X-Ray SDK (imported by Powertools'
    Tracer even when tracing is disabled) uses its local sampler; without it, it builds two
    botocore X-Ray clients at import (aws/aws-xray-sdk-python#273, #311), a few hundred ms that
    a Lambda function never pays. (It also touches /tmp/.aws-xray/initialized, as in Lambda.)
    """
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(function_env)
    env.update(
        {
            "PYTHONPATH": tree.pythonpath,
            "PYTHONDONTWRITEBYTECODE": "1",  # the code directories are read-only in Lambda
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
        version = python.version
        env.update(
            {
                "LAMBDA_TASK_ROOT": str(tree.task),
                "AWS_LAMBDA_FUNCTION_NAME": f"therabill-{target.name.split(' ')[0]}",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(target.memory_mb),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
                "POWERTOOLS_SERVICE_NAME": "therabill",
                "POWERTOOLS_METRICS_NAMESPACE": "Therabill",
            }
        )
    return env


@dataclass(frozen=True)
class Probe:
    python: Interpreter
    tree: Tree
    function_env: dict[str, str]
    options: EnvOptions

    def run(self, target: Target, *, importtime: bool = False) -> subprocess.CompletedProcess[str]:
        event = EVENTS / FIRST_CALL_EVENTS[target.name]
        args = [self.python.python, "-S", *(["-X", "importtime"] if importtime else [])]
        args += ["-c", _CHILD, target.module, str(event), f"therabill-{target.name.split(' ')[0]}"]
        proc = subprocess.run(
            args,
            cwd=self.tree.task,
            env=child_env(target, self.python, self.tree, self.function_env, self.options),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"cold start of {target.module} failed in a fresh process:\n{proc.stderr[-3000:]}"
            )
        return proc

    def facts(self, target: Target) -> dict[str, Any]:
        proc = self.run(target)
        facts: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return facts

    def top_packages(self, target: Target, n: int = 5) -> list[tuple[str, float]]:
        """Self time (ms) summed per top-level package, heaviest first, from -X importtime."""
        stderr = self.run(target, importtime=True).stderr
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
    python: Interpreter | None = None,
    progress: Any = None,
    warm_up: bool = True,
    floors: bool = True,
    forms: tuple[str, ...] = FORMS,
) -> list[ColdStartResult]:
    """The baseline and the floors first, then each entry module (in contract order), in each of
    ``forms`` (both by default)."""
    from bench.deployed import deployed_trees, emulator, interpreter

    python = python or interpreter()
    references = [Target(BASELINE_NAME, BASELINE_MODULE), *(Target(n, m) for n, m in FLOORS if floors)]
    targets = [*references, *entry_targets(only)]
    with emulator() as function_env, deployed_trees(python) as trees:
        probes = {form: Probe(python, trees[form], function_env, options) for form in forms}
        samples: dict[tuple[str, str], list[dict[str, Any]]] = {
            (t.name, f): [] for t in targets for f in forms
        }
        for t in targets if warm_up else ():  # fills the OS file cache (and moto's); discarded
            probes[forms[0]].facts(t)
        for round_no in range(runs):
            order = [(t, f) for t in targets for f in forms]
            random.Random(round_no).shuffle(order)
            for t, f in order:
                samples[(t.name, f)].append(probes[f].facts(t))
            if progress:
                progress(f"cold starts: round {round_no + 1}/{runs}")
        return [
            ColdStartResult(
                name=t.name,
                module=t.module,
                forms={f: _form_result(samples[(t.name, f)]) for f in forms},
                top_packages=probes[forms[0]].top_packages(t) if importtime else [],
            )
            for t in targets
        ]


def _form_result(got: list[dict[str, Any]]) -> FormResult:
    outcomes = sorted({s["outcome"] for s in got})
    return FormResult(
        import_seconds=[s["import"] for s in got],
        call_seconds=[s["call"] for s in got],
        wall_seconds=[s["import_wall"] + s["call_wall"] for s in got],
        outcome="/".join(outcomes),
        requests=max(s["requests"] for s in got),
        modules_after_import=max(s["modules"] for s in got),
        # any(): a flaky import order could not hide a heavy package.
        loaded_after_import=sorted({p for s in got for p in s["after_import"]}, key=WATCHED.index),
        loaded_after_call=sorted({p for s in got for p in s["after_call"]}, key=WATCHED.index),
    )


def render(
    results: list[ColdStartResult], runs: int, options: EnvOptions = EnvOptions(), python: str = ""
) -> str:
    baseline = results[0]
    lines = [
        f"Cold start per Lambda entry module, as deployed (read-only code; CPU ms, median of {runs} "
        f"fresh processes; warm disk cache){': ' + python if python else ''}",
        f"{options.describe()}. compiled: the code ships unchecked-hash pycs; source: it does not.",
        "'1st call': the handler's first call (its AWS requests go to moto; waiting is not CPU time). "
        "'x base': import + first call against the baseline's, same form; 'x imp': import alone; "
        "'x floor': against the floor of its kind (the baseline plus what pydantic, and for the APIs "
        "Powertools' validating resolver, cost before any Therabill code).",
        "",
    ]
    header = (
        f"{'function':<30} {'form':<8} {'import ms':>9} {'1st call':>8} {'total':>7} "
        f"{'x base':>6} {'x imp':>6} {'x floor':>7} {'modules':>7} {'AWS req':>7}  "
        f"{'answer':<8} {'stripe?':<7} loaded after 1st call"
    )
    lines += [header, "-" * len(header)]
    by_name = {r.name: r for r in results}
    for r in results:
        floor = by_name.get(floor_of(r.name), baseline)
        for form, f in r.forms.items():
            base = baseline.forms[form]
            low = floor.forms[form]
            lines.append(
                f"{r.name:<30} {form:<8} {f.import_ms:>9.0f} {f.call_ms:>8.0f} {f.total_ms:>7.0f} "
                f"{f.total_ms / base.total_ms:>6.2f} {f.import_ms / base.import_ms:>6.2f} "
                f"{f.total_ms / low.total_ms:>7.2f} "
                f"{f.modules_after_import:>7} {f.requests:>7}  {f.outcome:<8} "
                f"{'YES' if 'stripe' in f.loaded_after_call else 'no':<7} "
                f"{' '.join(p for p in f.loaded_after_call if p != 'stripe') or '-'}"
            )
    webhook = next((r for r in results if r.name == "stripe-webhook"), None)
    if webhook is not None:
        verdict = "VIOLATED" if webhook.stripe_imported else "holds"
        lines += [
            "",
            f"Rule 'stripe-webhook never imports stripe' (import and first call): {verdict}.",
        ]
    if any(r.top_packages for r in results):
        lines += [
            "",
            "Where the time goes (compiled form, -X importtime, self time of import and first call "
            "summed per top-level package, top 5; one run, the flag inflates times):",
        ]
        for r in results:
            parts = ", ".join(f"{name} {ms:.0f}" for name, ms in r.top_packages)
            lines.append(f"  {r.name:<30} {parts}  (ms)")
    return "\n".join(lines)
