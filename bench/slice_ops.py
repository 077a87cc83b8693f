"""Requests per operation of the slice (practice → Stripe Connect → client → card → charge → ledger).

Runs in-process on the integration tests' harness (bench/world.py): the real handlers, moto, and
FakeStripe behind the real Stripe SDK. Each operation is one handler invocation (or one webhook
delivery, or one worker batch), and around each one we take deltas of:

- DynamoDB requests: ``container.table.request_count`` (the Table adapter counts every call);
  cross-checked against the DynamoDB API calls botocore actually made;
- Stripe HTTP requests: ``len(fake.requests)`` (FakeStripe records each attempt);
- SES emails: moto's sent messages;
- other AWS API calls made by the function (SQS, Secrets Manager, ...), from botocore's
  ``before-call`` events; the SQS ReceiveMessage/DeleteMessage that ``World.drain_queue`` makes
  while playing the SQS event source are the harness's, not the function's, and are left out;
- wall time, in-process against moto: an indication only, not a Lambda latency.

The slice is driven twice in one World: the first pass pays for first use (lazy imports, clients,
the secret fetch), the second is the steady state whose counts the table shows. As in the
integration tests, every entry point shares one Container here, so per-process costs (the secret
fetch: one Secrets Manager call) appear once for the whole first pass, not once per function.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

# Calls the harness makes (World.drain_queue plays the SQS event source).
HARNESS_CALLS = frozenset({"sqs.ReceiveMessage", "sqs.DeleteMessage"})
# Stripe ids ("pi_3Nx…", "acct_1F…") have a mixed-case or digit tail; resource names do not.
_ID_SEGMENT = re.compile(r"^[a-z]+_[A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*$")


@dataclass
class OpResult:
    group: str
    step: str  # "" when the group is one step
    dynamodb: int
    stripe: int
    stripe_calls: list[str]
    emails: int
    aws_calls: dict[str, int]  # "service.Operation" -> count, harness calls excluded
    seconds: float
    note: str = ""
    dynamodb_calls: list[str] = field(default_factory=list)  # "GetItem P#{id} PRACTICE", in order

    @property
    def label(self) -> str:
        return f"{self.group}: {self.step}" if self.step else self.group


@dataclass
class SliceResult:
    first: list[OpResult] = field(default_factory=list)
    warm: list[OpResult] = field(default_factory=list)
    count_mismatches: list[str] = field(default_factory=list)  # adapter count vs botocore calls

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_pass": [asdict(r) | {"label": r.label} for r in self.first],
            "warm_pass": [asdict(r) | {"label": r.label} for r in self.warm],
            "count_mismatches": self.count_mismatches,
        }

    def warm_op(self, label: str) -> OpResult:
        return next(r for r in self.warm if r.label == label)


_ANY_ID = re.compile(r"\b[a-z]{2,5}_[A-Za-z0-9]{8,}")


def _typed(value: Any) -> str:
    return str(next(iter(value.values()))) if isinstance(value, dict) and len(value) == 1 else str(value)


def _key_of(params: dict[str, Any]) -> str:
    """Which item(s) a DynamoDB request touches, ids replaced by {id}."""
    key = params.get("Key") or params.get("Item")
    if key:
        text = " ".join(_typed(key[k]) for k in ("PK", "SK") if k in key)
    elif "KeyConditionExpression" in params:
        values = params.get("ExpressionAttributeValues") or {}
        text = " ".join(_typed(v) for k, v in sorted(values.items()) if k in (":pk", ":prefix"))
        if params.get("IndexName"):
            text = f"{params['IndexName']} {text}"
    elif "TransactItems" in params:
        parts = []
        for op in params["TransactItems"]:
            ((kind, body),) = op.items()
            parts.append(f"{kind} {_key_of(body)}")
        text = "[" + "; ".join(parts) + "]"
    else:
        text = ""
    return _ANY_ID.sub("{id}", text)


@dataclass
class Call:
    name: str  # "dynamodb.GetItem"
    key: str = ""
    error: str = ""  # the error code the service answered with, if any

    def describe(self) -> str:
        op = self.name.split(".", 1)[1]
        return f"{op} {self.key}" + (f" -> {self.error}" if self.error else "")


class CallRecorder:
    """botocore hooks on the World's boto3 session: ``before-parameter-build`` (once per API call,
    with the caller's parameters) and ``after-call`` (the parsed answer, errors included)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def install(self, session: Any) -> None:
        session.events.register("before-parameter-build", self._before)
        session.events.register("after-call", self._after)

    def _before(self, event_name: str, params: dict[str, Any] | None = None, **_: Any) -> None:
        name = event_name.removeprefix("before-parameter-build.")
        key = _key_of(params or {}) if name.startswith("dynamodb.") else ""
        self.calls.append(Call(name, key))

    def _after(self, event_name: str, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        code = ((parsed or {}).get("Error") or {}).get("Code")
        if code and self.calls and self.calls[-1].name == event_name.removeprefix("after-call."):
            self.calls[-1].error = str(code)


def _path(path: str) -> str:
    return "/".join("{id}" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/"))


class Meter:
    def __init__(self, world: Any, aws_calls: list[Call]) -> None:
        self.world = world
        self._aws_calls = aws_calls
        self.results: list[OpResult] = []
        self.mismatches: list[str] = []

    def _emails(self) -> int:
        return len(self.world.emails())

    @contextmanager
    def op(self, group: str, step: str = "") -> Iterator[OpResult]:
        table = self.world.container.table
        fake = self.world.stripe
        ddb0, stripe0, emails0, calls0 = (
            table.request_count,
            len(fake.requests),
            self._emails(),
            len(self._aws_calls),
        )
        result = OpResult(group, step, 0, 0, [], 0, {}, 0.0)
        t0 = time.perf_counter()
        yield result
        result.seconds = time.perf_counter() - t0
        result.dynamodb = table.request_count - ddb0
        requests = fake.requests[stripe0:]
        result.stripe = len(requests)
        result.stripe_calls = [f"{r.method} {_path(r.path)}" for r in requests]
        result.emails = self._emails() - emails0
        made = [c for c in self._aws_calls[calls0:] if c.name not in HARNESS_CALLS]
        calls = Counter(c.name for c in made)
        result.aws_calls = dict(sorted(calls.items()))
        result.dynamodb_calls = [c.describe() for c in made if c.name.startswith("dynamodb.")]
        botocore_ddb = sum(n for c, n in calls.items() if c.startswith("dynamodb."))
        if botocore_ddb != result.dynamodb:
            self.mismatches.append(
                f"{result.label}: Table.request_count {result.dynamodb}, DynamoDB API calls {botocore_ddb}"
            )
        self.results.append(result)


def _expect(ok: bool, what: str, detail: Any) -> None:
    if not ok:
        raise RuntimeError(f"the slice went wrong at {what}: {detail!r}")


def _event(world: Any, since: int, event_type: str) -> dict[str, Any]:
    found = [e for e in world.stripe.events[since:] if e["type"] == event_type]
    _expect(len(found) == 1, f"finding {event_type}", [e["type"] for e in world.stripe.events[since:]])
    event: dict[str, Any] = found[0]
    return event


def _event_result(world: Any, event_id: str) -> str:
    """What the worker recorded for the event (read outside any measured operation)."""
    from therabill.core import keys

    item = world.container.table.get(keys.stripe_event_pk(event_id), keys.STRIPE_EVENT_SK)
    return f"{(item or {}).get('status')}: {(item or {}).get('result')}"


def _webhook_and_worker(
    meter: Meter, world: Any, group: str, event: dict[str, Any], expect_outcome: str = "new"
) -> None:
    with meter.op(group, "webhook receive"):
        status, body = world.webhook(json.dumps(event))
    _expect(status == 200 and body.get("outcome") == expect_outcome, f"{group} receive", body)
    with meter.op(group, "worker") as worker:
        batches = world.drain_queue()
    _expect(all(not b["batchItemFailures"] for b in batches), f"{group} worker", batches)
    worker.note = _event_result(world, event["id"])


def run_slice(world: Any, meter: Meter, tag: str) -> None:
    from tests.integration import scenario

    with meter.op("create practice"):
        practice = scenario.create_practice(world, connect=False)

    with meter.op("connect Stripe", "API call"):
        status, body = world.staff(
            "POST",
            "/practice/stripe/connect",
            {"refresh_url": "https://app.test/refresh", "return_url": "https://app.test/done"},
            practice_id=practice.id,
        )
    _expect(status == 200, "connect", body)
    _, got = world.staff("GET", "/practice", practice_id=practice.id)
    practice = scenario.Practice(practice.id, got["stripe"]["account_id"])
    since = len(world.stripe.events)
    world.stripe.complete_onboarding(practice.account)  # the practice finishes hosted onboarding
    _webhook_and_worker(meter, world, "connect Stripe", _event(world, since, "account.updated"))

    with meter.op("create client"):
        client = scenario.create_client(world, practice)
    with meter.op("create set-up link"):
        token = scenario.setup_link(world, practice, client["id"])
    with meter.op("open set-up page"):
        status, page = world.public("GET", f"/setup/{token}")
    _expect(status == 200, "open set-up page", page)
    version = page.split('"version": "')[1].split('"')[0]
    with meter.op("start set-up (SetupIntent)"):
        status, intent = world.public(
            "POST",
            f"/setup/{token}/intent",
            {"signer_name": "Ann Client", "agreed": True, "text_version": version},
        )
    _expect(status == 200, "start set-up", intent)

    # The client's browser confirms the SetupIntent with Stripe.js: Stripe's traffic, not ours.
    since = len(world.stripe.events)
    world.stripe.client(stripe_account=intent["stripe_account"]).v1.setup_intents.confirm(
        intent["client_secret"].split("_secret_")[0], {"payment_method": "pm_card_visa"}
    )
    unhandled = _event(world, since, "payment_method.attached")
    _webhook_and_worker(
        meter, world, "setup_intent.succeeded", _event(world, since, "setup_intent.succeeded")
    )

    since = len(world.stripe.events)
    with meter.op("charge a saved card (API call)"):
        status, payment = scenario.charge(world, practice, client["id"], 2500, key=f"bench-charge-{tag}")
    _expect(status == 201 and payment["status"] == "succeeded", "charge", payment)
    succeeded = _event(world, since, "payment_intent.succeeded")
    _webhook_and_worker(meter, world, "payment_intent.succeeded (replay)", succeeded)

    with meter.op("read ledger"):
        status, ledger = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    _expect(
        status == 200 and [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("payment", 2500)],
        "read ledger",
        ledger,
    )

    # Not in the slice proper: what Stripe's other deliveries cost.
    with meter.op("extra: duplicate delivery (payment_intent.succeeded)", "webhook receive"):
        status, body = world.webhook(json.dumps(succeeded))
    _expect(status == 200 and body.get("outcome") == "duplicate", "duplicate delivery", body)
    _webhook_and_worker(meter, world, "extra: unhandled type (payment_method.attached)", unhandled)


def measure(progress: Any = None) -> SliceResult:
    from bench.session_ops import run_sessions
    from bench.world import build_world

    recorder = CallRecorder()
    out = SliceResult()
    with build_world(on_session=recorder.install) as world:
        for tag, dest in (("first", out.first), ("warm", out.warm)):
            meter = Meter(world, recorder.calls)
            run_slice(world, meter, tag)
            run_sessions(world, meter, tag)
            dest.extend(meter.results)
            out.count_mismatches += [f"{tag} pass: {m}" for m in meter.mismatches]
            if progress:
                progress(f"slice: {tag} pass done")
    return out


def _aws(calls: dict[str, int]) -> str:
    other = {k: v for k, v in calls.items() if not k.startswith("dynamodb.")}
    return ", ".join(f"{k}" + (f" x{v}" if v > 1 else "") for k, v in other.items()) or "-"


def render(result: SliceResult, *, detail: bool = False) -> str:
    first = {r.label: r for r in result.first}
    header = (
        f"{'operation':<62} {'DynamoDB':>8} {'Stripe':>6} {'SES':>4}  {'warm ms*':>8} "
        f"{'1st ms*':>8}  other AWS calls"
    )
    lines = [
        "Requests per operation (steady state: the second pass of the slice in one process)",
        "",
        header,
        "-" * len(header),
    ]
    groups: dict[str, list[OpResult]] = {}
    for r in result.warm:
        groups.setdefault(r.group, []).append(r)

    def row(label: str, ops: list[OpResult], *, indent: str = "") -> str:
        ddb = sum(o.dynamodb for o in ops)
        stripe = sum(o.stripe for o in ops)
        emails = sum(o.emails for o in ops)
        wall = sum(o.seconds for o in ops) * 1000
        wall1 = sum(first[o.label].seconds for o in ops if o.label in first) * 1000
        calls: Counter[str] = Counter()
        for o in ops:
            calls.update(o.aws_calls)
        return (
            f"{indent + label:<62} {ddb:>8} {stripe:>6} {emails:>4}  {wall:>8.1f} {wall1:>8.1f}  "
            f"{_aws(dict(calls))}"
        )

    for group, ops in groups.items():
        if len(ops) == 1 and not ops[0].step:
            lines.append(row(group, ops))
            continue
        lines.append(row(group + " (total)", ops))
        lines += [row(o.step, [o], indent="    ") for o in ops]
    lines += [
        "",
        "* wall time in-process against moto and FakeStripe: an indication, not a Lambda latency. "
        "'1st' is the first pass: first use (lazy imports, clients, the secret fetch).",
        "",
        "Requests by operation (steady state), DynamoDB by API call:",
    ]
    for r in result.warm:
        ddb = ", ".join(
            f"{k.removeprefix('dynamodb.')}" + (f" x{v}" if v > 1 else "")
            for k, v in r.aws_calls.items()
            if k.startswith("dynamodb.")
        )
        lines.append(f"  {r.label:<68} {ddb or '-'}")
        if r.stripe_calls:
            lines.append(f"  {'':<68} Stripe: {', '.join(r.stripe_calls)}")
        if detail:
            lines += [f"      {c}" for c in r.dynamodb_calls]
    notes = [r for r in result.warm if r.note]
    if notes:
        lines += ["", "What the worker recorded for each event:"]
        lines += [f"  {r.group:<68} {r.note}" for r in notes]
    differ = [
        r.label
        for r in result.warm
        if r.label in first
        and (first[r.label].dynamodb, first[r.label].stripe, first[r.label].emails)
        != (r.dynamodb, r.stripe, r.emails)
    ]
    if differ:
        lines += ["", "Counts that differ on the first pass:"]
        for label in differ:
            f, w = first[label], next(r for r in result.warm if r.label == label)
            lines.append(
                f"  {label}: DynamoDB {f.dynamodb} vs {w.dynamodb}, "
                f"Stripe {f.stripe} vs {w.stripe}, SES {f.emails} vs {w.emails}"
            )
    lines += [
        "",
        "Table.request_count vs DynamoDB API calls seen by botocore: "
        + (
            "agree on every operation"
            if not result.count_mismatches
            else "DIFFER: " + "; ".join(result.count_mismatches)
        ),
    ]
    return "\n".join(lines)
