"""The nightly run at scale: N ready sessions across P practices, billed through the real entry
points (nightly-dispatch, then the nightly-worker on SQS) against moto and the fake Stripe, on a
virtual clock (every practice's cutoff is the same instant).

Measured: wall time, DynamoDB requests (through ``Table``) and Stripe HTTP requests per session,
peak Python memory (tracemalloc) over the run, and the run's *simulated* duration in AWS: the
SQS messages the run actually produced, with their measured DynamoDB / Stripe request counts,
replayed over ``concurrency`` worker instances with per-request latencies and Stripe's documented
live-mode rate limit (100 read/write operations per second per account: a token bucket; a request
finding it empty gets a 429 and is retried with backoff — the SDK's behaviour — so every 429 is
counted and none is left unhandled).

Seeding writes completed sessions straight to the table (their ledger charge through the ledger
service): booking 10,000 sessions through the API would dwarf the run being measured.

    uv run python -m bench --only nightly                      # 10,000 sessions, 200 practices
    uv run python -m bench --only nightly --nightly-sessions 1000 --nightly-practices 20
    uv run python -m bench --only nightly --nightly-cadence monthly   # the month's sessions, consolidated

Monthly: every practice bills monthly on the run's day; its sessions are spread over the 30 days
before it (older than the 14-day window: found through their to-do rows), and the run makes one
invoice (and at most one charge) per client.
"""

from __future__ import annotations

import copy
import heapq
import json
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DDB_LATENCY_S = 0.006  # a DynamoDB request from Lambda (single-digit milliseconds)
STRIPE_LATENCY_S = 0.35  # a PaymentIntent create+confirm on a connected account
STRIPE_OPS_PER_SECOND = 100  # Stripe's documented live-mode limit, per account
STRIPE_BURST = 100
RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
DEFAULT_CONCURRENCY = 10  # the nightly-worker's reserved concurrency (infra/functions.py)
DAY = "2026-11-20"
CARD_SHARE = 2  # every CARD_SHARE-th client has a saved card (the rest are sent invoices)


SAMPLED_MESSAGES = 1  # tracemalloc slows everything ~20x: the peak is taken over the first plan and batch


@dataclass
class Message:
    kind: str
    ddb: int
    stripe: int
    items: int
    peak: int = 0  # bytes allocated at the peak while handling it (sampled messages only)


@dataclass
class NightlyResult:
    practices: int
    sessions: int
    billed: int
    charged: int
    invoices_sent: int
    wall_seconds: float
    seed_seconds: float
    dynamodb_requests: int
    stripe_requests: int
    dynamodb_per_session: float
    stripe_per_session: float
    peak_memory_mb: float
    concurrency: int
    simulated_seconds: float
    stripe_429s: int
    stripe_429s_unhandled: int
    messages: int
    other_concurrency: list[dict[str, float]] = field(default_factory=list)
    processes: int = 1
    cadence: str = "nightly"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local(hour: int, minute: int = 0, tz: str = "America/New_York") -> datetime:
    return datetime.fromisoformat(DAY).replace(hour=hour, minute=minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _seed(  # long: one seeding, step after step
    world: Any, practices: int, sessions: int, progress: Any, *, first: int = 0, cadence: str = "nightly"
) -> tuple[list[str], int]:
    """Practices (connected), clients (some with a saved card), one service, completed sessions
    (monthly: spread over the 30 days before the run, the practice's billing day the run's)."""
    from tests.integration import scenario

    from therabill.core.ids import new_id
    from therabill.core.money import Money
    from therabill.services.pricing import Price
    from therabill.sessions.models import Session
    from therabill.sessions.store import to_item as session_item

    c = world.container
    per_practice = max(1, sessions // practices)
    clients_per_practice = max(1, min(10, per_practice))
    ids: list[str] = []
    made = 0
    for n in range(practices):
        world.clock.now = _local(8)
        practice = scenario.create_practice(world, name=f"Practice {first + n:04d}")
        ids.append(practice.id)
        if cadence == "monthly":
            body = {"billing_cadence": "monthly", "monthly_billing_day": int(DAY[-2:])}
            assert world.staff("PUT", "/practice/billing-automation", body, practice_id=practice.id)[0] == 200
        status, svc = world.staff(
            "POST",
            "/services",
            {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": 12_000},
            practice_id=practice.id,
        )
        assert status == 201, svc
        clients = []
        for k in range(clients_per_practice):
            client = scenario.create_client(
                world, practice, first_name=f"C{k:02d}", email=f"c{k}@p{first + n}.client.test"
            )
            if k % CARD_SHARE == 0:  # monthly: a consent with no limit per charge (a month is one)
                limit = {"max_amount": None} if cadence == "monthly" else {}
                scenario.save_card(world, practice, client["id"], **limit)
            clients.append(client["id"])
        count = per_practice if n < practices - 1 else sessions - made
        clinician = world.member(practice.id, "clinician").id
        price = Money(amount=12_000, currency="usd")
        for j in range(count):
            start = _local(8) + timedelta(minutes=5 * j)
            if cadence == "monthly":  # the 30 days before the billing day
                start = _local(8) - timedelta(days=1 + j % 30, minutes=-5 * (j // 30))
            client_id = clients[j % len(clients)]
            session = Session(
                id=new_id("ses"),
                client_id=client_id,
                service_id=svc["id"],
                clinician_id=clinician,
                scheduled_start=start,
                scheduled_end=start + timedelta(minutes=50),
                status="completed",
                created_at=start,
                created_by="bench",
                updated_at=start,
                version=3,
                checked_in_at=start,
                actual_start=start,
                actual_end=start + timedelta(minutes=50),
                completed_at=start + timedelta(minutes=50),
                price=Price(
                    amount=price,
                    unit="session",
                    unit_price=price,
                    units=1,
                    billed_minutes=None,
                    actual_seconds=None,
                    rule="default",
                    cpt_code="90837",
                ),
            )
            c.table.put(session_item(practice.id, session))
            c.table.put(
                {
                    "PK": f"P#{practice.id}",
                    "SK": f"SESSIONID#{session.id}",
                    "type": "session_pointer",
                    "client_id": client_id,
                }
            )
            if cadence == "monthly":
                c.sessions.store.mark_to_bill(practice.id, session)
            c.ledger.post_charge(
                practice.id,
                client_id=client_id,
                amount=price,
                source_key=f"session:{session.id}",
                memo="Session",
            )
            made += 1
        if progress and (n + 1) % max(1, practices // 10) == 0:
            progress(f"seeded {n + 1}/{practices} practices from {first}, {made} sessions")
    return ids, made


def _run(world: Any, practice_ids: list[str], *, sample_memory: int, progress: Any = None) -> list[Message]:
    """Fire every practice's schedule at the cutoff, then play the SQS event source, one message
    at a time, recording each message's DynamoDB and Stripe requests."""
    from devstack import apigw

    c = world.container
    sqs = world.session.client("sqs")
    url = sqs.get_queue_url(QueueName="therabill-nightly-bench")["QueueUrl"]
    dispatch = world.handler("nightly_dispatch")
    worker = world.handler("nightly_worker")
    cutoff = _local(23)
    world.clock.now = cutoff
    messages: list[Message] = []
    sampled: set[str] = set()
    for pid in practice_ids:
        d0, s0 = c.table.request_count, len(world.stripe.requests)
        dispatch(
            {"practice_id": pid, "kind": "run", "scheduled_time": cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")},
            apigw.LambdaContext("nightly-dispatch"),
        )
        messages.append(Message("dispatch", c.table.request_count - d0, len(world.stripe.requests) - s0, 0))
    while True:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        batch = out.get("Messages", [])
        if not batch:
            return messages
        for m in batch:
            body = json.loads(m["Body"])
            d0, s0 = c.table.request_count, len(world.stripe.requests)
            traced = sample_memory > 0 and body["type"] not in sampled  # the first of each kind
            sampled.add(body["type"])
            if traced:
                tracemalloc.start()
            result = worker(
                apigw.sqs_event([m["Body"]], message_ids=[m["MessageId"]]), apigw.LambdaContext("w")
            )
            peak = 0
            if traced:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            if result["batchItemFailures"]:
                raise RuntimeError(f"a nightly message failed in the bench: {body.get('type')}")
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if progress and len(messages) % 50 == 0:
                progress(f"{len(messages)} messages handled")
            messages.append(
                Message(
                    body["type"],
                    c.table.request_count - d0,
                    len(world.stripe.requests) - s0,
                    len(body.get("items", [])),
                    peak,
                )
            )


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    at: float = 0.0

    def take(self, now: float) -> bool:
        if now > self.at:  # workers' clocks interleave: refill only as time moves forward
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def simulate(messages: list[Message], concurrency: int) -> tuple[float, int, int]:
    """(duration s, 429s met, 429s left unhandled) of the messages on ``concurrency`` workers.

    A discrete-event replay in time order: the dispatches run first (in parallel); then each
    worker takes the next message. A message is its DynamoDB time split around its Stripe calls
    (one per charged item); each Stripe call must take a token from the account's bucket at that
    instant, else it is a 429 and the call is retried after the SDK's backoff. A call that runs
    out of retries would be a 429 left unhandled (the item stays pending for a re-run)."""
    bucket = _Bucket(STRIPE_OPS_PER_SECOND, STRIPE_BURST, STRIPE_BURST)
    work = [m for m in messages if m.kind != "dispatch"]
    start = max((m.ddb * DDB_LATENCY_S for m in messages if m.kind == "dispatch"), default=0.0)
    # Each worker: (time, worker id, steps left, retry attempt). A step is "d<seconds>" or "s".
    events: list[tuple[float, int, list[str], int]] = []
    next_message = 0
    throttled = unhandled = 0
    end = start

    def steps_of(m: Message) -> list[str]:
        chunk = (m.ddb * DDB_LATENCY_S) / (m.stripe + 1)
        out = [f"d{chunk}"]
        for _ in range(m.stripe):
            out += ["s", f"d{chunk}"]
        return out

    for worker in range(concurrency):
        if next_message < len(work):
            heapq.heappush(events, (start, worker, steps_of(work[next_message]), 0))
            next_message += 1
    while events:
        now, worker, steps, attempt = heapq.heappop(events)
        if not steps:
            end = max(end, now)
            if next_message < len(work):
                heapq.heappush(events, (now, worker, steps_of(work[next_message]), 0))
                next_message += 1
            continue
        step, rest = steps[0], steps[1:]
        if step.startswith("d"):
            heapq.heappush(events, (now + float(step[1:]), worker, rest, 0))
        elif bucket.take(now):
            heapq.heappush(events, (now + STRIPE_LATENCY_S, worker, rest, 0))
        else:
            throttled += 1
            if attempt >= len(RETRY_BACKOFF_S):
                unhandled += 1
                heapq.heappush(events, (now, worker, rest, 0))
            else:
                heapq.heappush(events, (now + RETRY_BACKOFF_S[attempt], worker, steps, attempt + 1))
    return end, throttled, unhandled


@contextmanager
def fast_moto_transactions() -> Iterator[None]:
    """moto's TransactWriteItems deep-copies the whole table once per item for its rollback:
    O(table) per transaction, minutes at 10,000 sessions. For the bench only, keep an undo log of
    the items the transaction touches instead (same outcome: all or nothing)."""
    import types

    import moto.dynamodb.models as models

    original = models.DynamoDBBackend.transact_write_items

    def patched(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            name = op["TableName"]
            table = self.get_table(name)
            if "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            current = self.get_item(name, key)
            undo.append((name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        real_copy = models.copy
        models.copy = types.SimpleNamespace(deepcopy=lambda value: value)  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception:
            for name, key, old in reversed(undo):
                if old is None:
                    if self.get_item(name, key) is not None:
                        self.delete_item(name, key)
                else:
                    self.put_item(name, old)
            raise
        finally:
            models.copy = real_copy

    models.DynamoDBBackend.transact_write_items = patched
    try:
        yield
    finally:
        models.DynamoDBBackend.transact_write_items = original


@contextmanager
def fast_moto_queries() -> Iterator[None]:
    """moto's Query sorts every item of the table (all partitions) before it keeps the queried
    partition's: O(table log table) per Query, which dominates a 10,000-session night. For the
    bench only, a Query of the table starts from the queried partition's items that meet the sort
    key condition, and a Query of an index from the unsorted items (moto sorts what it keeps, and
    checks the condition again, either way): the results are the same."""
    from moto.dynamodb.models.table import Table

    original = Table.query

    def patched(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name") or (args[6] if len(args) > 6 else None)
        if index_name is None and self.range_key_attr:
            candidates = list(self.items.get(hash_key, {}).values())
            comparison, objs = (args[0], args[1]) if len(args) > 1 else (None, None)
            if comparison:  # moto checks the key condition again on what it is given
                candidates = [i for i in candidates if i.range_key.compare(comparison, objs)]
        else:
            candidates = [i for part in self.items.values() for i in part.values()]
        self.all_items = lambda: candidates  # this Query only (the bench is single-threaded)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = patched
    try:
        yield
    finally:
        Table.query = original


@dataclass
class _Part:
    """One process's share of the night: its own moto, fake Stripe and practices."""

    messages: list[Message]
    made: int
    ddb: int
    stripe: int
    billed: int
    charged: int
    sent: int
    wall: float
    seed: float


def _stderr(message: str) -> None:
    import sys

    print(f"  ... {message}", file=sys.stderr, flush=True)


def _measure_part(
    practices: int, sessions: int, first: int, sample_memory: int, progress: Any, cadence: str = "nightly"
) -> _Part:
    from datetime import date

    from bench.world import build_world
    from therabill.adapters.sqs import SqsQueue

    with build_world() as world, fast_moto_transactions(), fast_moto_queries():
        sqs = world.session.client("sqs")
        url = sqs.create_queue(QueueName="therabill-nightly-bench")["QueueUrl"]
        world.container.nightly_queue = SqsQueue(sqs, url)
        seed_started = time.perf_counter()
        practice_ids, made = _seed(world, practices, sessions, progress, first=first, cadence=cadence)
        seed_seconds = time.perf_counter() - seed_started
        if progress:
            progress(f"seeded in {seed_seconds:.0f} s; running the night")
        ddb0, stripe0 = world.container.table.request_count, len(world.stripe.requests)
        started = time.perf_counter()
        messages = _run(world, practice_ids, sample_memory=sample_memory, progress=progress)
        wall = time.perf_counter() - started
        billed = charged = sent = 0
        for pid in practice_ids:
            run = world.container.nightly.find_run(pid, date.fromisoformat(DAY))
            assert run is not None and run.status == "done" and run.report is not None, pid
            billed += run.report.items_billed
            charged += run.report.cards_charged
            sent += run.report.invoices_sent
        return _Part(
            messages=messages,
            made=made,
            ddb=world.container.table.request_count - ddb0,
            stripe=len(world.stripe.requests) - stripe0,
            billed=billed,
            charged=charged,
            sent=sent,
            wall=wall,
            seed=seed_seconds,
        )


def _interleave(lists: list[list[Message]]) -> list[Message]:
    """The parts' messages as one queue would hand them out: dispatches, then the rest in turn."""
    dispatches = [m for part in lists for m in part if m.kind == "dispatch"]
    rest = [[m for m in part if m.kind != "dispatch"] for part in lists]
    out: list[Message] = []
    for i in range(max((len(r) for r in rest), default=0)):
        out += [r[i] for r in rest if i < len(r)]
    return dispatches + out


def measure(
    *,
    practices: int = 200,
    sessions: int = 10_000,
    concurrency: int = DEFAULT_CONCURRENCY,
    processes: int = 1,
    progress: Any = None,
    cadence: str = "nightly",
) -> NightlyResult:
    """The night; with ``processes`` > 1 the practices are shared out over that many processes,
    each with its own moto (practices are independent: nothing of one is read by another's run)."""
    processes = max(1, min(processes, practices))
    if processes == 1:
        parts = [_measure_part(practices, sessions, 0, SAMPLED_MESSAGES, progress, cadence)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        shares = [practices // processes + (1 if k < practices % processes else 0) for k in range(processes)]
        firsts = [sum(shares[:k]) for k in range(processes)]
        per = [sessions * share // practices for share in shares]
        per[-1] += sessions - sum(per)
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [
                pool.submit(
                    _measure_part,
                    shares[k],
                    per[k],
                    firsts[k],
                    SAMPLED_MESSAGES if k == 0 else 0,
                    _stderr if progress else None,
                    cadence,
                )
                for k in range(processes)
            ]
            parts = [f.result() for f in futures]
    messages = _interleave([p.messages for p in parts])
    made = sum(p.made for p in parts)
    ddb, stripe = sum(p.ddb for p in parts), sum(p.stripe for p in parts)
    billed, charged = sum(p.billed for p in parts), sum(p.charged for p in parts)
    sent = sum(p.sent for p in parts)
    wall, seed_seconds = max(p.wall for p in parts), max(p.seed for p in parts)
    peak = max((m.peak for m in messages), default=0)
    simulated, throttled, unhandled = simulate(messages, concurrency)
    others = []
    for workers in (50, 200):
        secs, t429, lost = simulate(messages, workers)
        others.append({"workers": workers, "seconds": round(secs, 1), "stripe_429s": t429, "unhandled": lost})
    return NightlyResult(
        practices=practices,
        sessions=made,
        billed=billed,
        charged=charged,
        invoices_sent=sent,
        wall_seconds=round(wall, 2),
        seed_seconds=round(seed_seconds, 2),
        dynamodb_requests=ddb,
        stripe_requests=stripe,
        dynamodb_per_session=round(ddb / max(1, made), 2),
        stripe_per_session=round(stripe / max(1, made), 3),
        peak_memory_mb=round(peak / 1_048_576, 1),
        concurrency=concurrency,
        simulated_seconds=round(simulated, 1),
        stripe_429s=throttled,
        stripe_429s_unhandled=unhandled,
        messages=len(messages),
        other_concurrency=others,
        processes=processes,
        cadence=cadence,
        notes=[
            f"latencies: DynamoDB {DDB_LATENCY_S * 1000:.0f} ms, Stripe {STRIPE_LATENCY_S * 1000:.0f} ms; "
            f"Stripe limit {STRIPE_OPS_PER_SECOND}/s (token bucket, burst {STRIPE_BURST}), 429 → SDK backoff",
            "DynamoDB requests are those made through therabill's Table (SQS, SES and Stripe not included)",
        ],
    )


def render(r: NightlyResult) -> str:
    rows = [
        ("practices / sessions", f"{r.practices} / {r.sessions}"),
        ("billed (cards charged, invoices sent)", f"{r.billed} ({r.charged}, {r.invoices_sent})"),
        (
            f"wall time of the run (in-process, moto; {r.processes} process(es))",
            f"{r.wall_seconds:.1f} s (seeding {r.seed_seconds:.0f} s)",
        ),
        ("DynamoDB requests per session", f"{r.dynamodb_per_session:.2f} ({r.dynamodb_requests} in all)"),
        ("Stripe requests per session", f"{r.stripe_per_session:.3f} ({r.stripe_requests} in all)"),
        ("peak memory of one message (tracemalloc)", f"{r.peak_memory_mb:.1f} MB (plan or batch of 25)"),
        ("invocations (dispatches + SQS messages)", str(r.messages)),
        (
            f"simulated duration ({r.concurrency} workers)",
            f"{r.simulated_seconds:.1f} s, {r.stripe_429s} Stripe 429s retried, "
            f"{r.stripe_429s_unhandled} unhandled",
        ),
    ]
    for o in r.other_concurrency:
        rows.append(
            (
                f"simulated duration ({o['workers']} workers)",
                f"{o['seconds']:.1f} s, {o['stripe_429s']} Stripe 429s retried, {o['unhandled']} unhandled",
            )
        )
    width = max(len(k) for k, _ in rows)
    lines = [f"The nightly run at scale ({r.cadence})", ""]
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    lines += ["", *[f"  ({n})" for n in r.notes]]
    return "\n".join(lines)
