"""A small nightly bench so ``bench/nightly.py`` cannot rot: a few practices through the real
entry points, the counts it reports are consistent, and the rate-limit model does what it says."""

from __future__ import annotations

import pytest

from bench import nightly


def test_small_night_reports_consistent_numbers() -> None:
    result = nightly.measure(practices=2, sessions=8)
    assert result.sessions == 8 and result.billed == 8
    # Every other client has a card: half the sessions are charged, the others are sent invoices.
    assert result.charged + result.invoices_sent == 8 and result.charged > 0 and result.invoices_sent > 0
    assert result.stripe_requests == result.charged  # one PaymentIntent call per charge, no retries
    assert 0 < result.dynamodb_per_session < 60
    assert result.peak_memory_mb > 0
    assert result.stripe_429s_unhandled == 0
    assert result.messages == 2 + 2 + 2  # a dispatch, a plan and one batch per practice
    assert "DynamoDB requests per session" in nightly.render(result)


def test_rate_limit_model() -> None:
    items = [nightly.Message("items", ddb=700, stripe=25, items=25) for _ in range(400)]
    few, t_few, lost_few = nightly.simulate(items, 10)
    many, t_many, lost_many = nightly.simulate(items, 200)
    assert (t_few, lost_few) == (0, 0)  # 10 workers stay under 100 calls / s
    assert t_many > 0 and lost_many == 0  # 200 workers meet 429s, every one retried
    # 10,000 Stripe calls cannot take less than 100 s at 100 / s.
    assert many >= 10_000 / nightly.STRIPE_OPS_PER_SECOND
    assert few > many
    no_stripe, t, _ = nightly.simulate([nightly.Message("items", 700, 0, 25)] * 10, 1)
    assert t == 0 and no_stripe == pytest.approx(10 * 700 * nightly.DDB_LATENCY_S)


def test_fast_moto_queries_answer_as_moto_does() -> None:
    """The bench's shortcut for moto's Query gives the same pages as moto itself: table and index,
    with and without a sort key condition, forwards and backwards, page by page."""
    import random

    from bench.world import build_world

    from therabill import contract

    rng = random.Random(7)
    with build_world() as world:
        table = world.container.table
        for n in range(300):
            pk = f"P#{rng.choice('abc')}"
            item = {"PK": pk, "SK": f"{rng.choice(['LEDGER#', 'SES#', 'INV#'])}{n:04d}", "n": n}
            if n % 3 == 0:
                item[contract.GSI1_PARTITION_KEY] = f"G#{rng.choice('xy')}"
                item[contract.GSI1_SORT_KEY] = f"{rng.randrange(50):03d}"
            table.put(item)
        asks = [
            {"partition": "P#a"},
            {"partition": "P#b", "prefix": "LEDGER#"},
            {"partition": "P#c", "prefix": "SES#", "forward": False},
            {"partition": "P#z", "prefix": "SES#"},
            {"partition": "G#x", "index": contract.GSI1_NAME},
            {"partition": "G#y", "index": contract.GSI1_NAME, "prefix": "01", "forward": False},
        ]

        def pages(ask: dict[str, object]) -> list[list[int]]:
            out, cursor = [], None
            while True:
                page = table.query(limit=7, cursor=cursor, **ask)  # type: ignore[arg-type]
                out.append([int(i["n"]) for i in page.items])
                if not page.cursor:
                    return out
                cursor = page.cursor

        plain = [pages(ask) for ask in asks]
        with nightly.fast_moto_queries():
            fast = [pages(ask) for ask in asks]
    assert fast == plain
    assert sum(len(p) for p in plain[0]) > 50 and plain[3] == [[]]
