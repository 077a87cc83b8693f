"""Property tests of the double-entry ledger against DynamoDB (moto).

Whatever sequence of charges, payments (card, cash, check, other), credits, adjustments, refunds
and replays across two billing party accounts of one client: every entry's lines sum to zero; neither the
receivable nor the credit of an account is ever negative; no summary differs from the sum of its
entries; what each account owes is the plain signed sum of what was posted to it (charges and
refunds up, payments, credits and adjustments down — an independent model of the balance); an
account never holds both an open receivable and credit (credit is applied to what is due); each
source posts once; and no item is ever edited in place.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from devstack.resources import table_definition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from therabill.adapters.dynamo import Table
from therabill.core import keys
from therabill.core.ids import new_id
from therabill.core.money import Money
from therabill.ledger.service import LedgerEntry, LedgerService
from therabill.ledger.store import LedgerStore

CLIENT = "cli_props"
CONTACT = "con_props"
# The client themself (named two ways: None and their own id) and one paying contact.
OWNERS: list[str | None] = [None, CLIENT, CONTACT]
SIGN = {"charge": 1, "refund": 1, "payment": -1, "credit": -1, "adjustment": -1}

amounts = st.integers(min_value=1, max_value=50_000)
owners = st.sampled_from(OWNERS)
operation = st.one_of(
    st.tuples(st.just("charge"), owners, st.none(), amounts),
    st.tuples(st.just("payment"), owners, st.sampled_from(["card", "cash", "check", "other"]), amounts),
    st.tuples(st.just("credit"), owners, st.sampled_from(["card", None]), amounts),
    st.tuples(st.just("adjustment"), owners, st.none(), amounts),
    st.tuples(st.just("refund"), owners, st.just("card"), amounts),
    st.tuples(st.just("replay"), st.integers(min_value=0, max_value=30), st.none(), st.none()),
)


@pytest.fixture(scope="module")
def dynamodb():
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


@contextmanager
def fresh_table(client: Any) -> Iterator[Table]:
    """A table per example: moto copies a whole table on every transaction, so small is fast."""
    name = f"ledger-{new_id('tbl')}"
    client.create_table(**table_definition(name))
    try:
        yield Table(client, name)
    finally:
        client.delete_table(TableName=name)


def _clock():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = (start + timedelta(milliseconds=i) for i in itertools.count())
    return lambda: next(ticks)


def _account(owner: str | None) -> str | None:
    return None if owner in (None, CLIENT) else owner


def _post(
    ledger: LedgerService, practice: str, op: tuple[Any, ...], source: str
) -> tuple[list[LedgerEntry], tuple[int, int] | None]:
    """Post one operation: (the entries it wrote, (credit applied, due) for a charge)."""
    kind, owner, method, amount = op
    money = Money(amount=amount, currency="usd")
    if kind == "charge":
        result = ledger.post_charge(
            practice, client_id=CLIENT, amount=money, source_key=source, memo="c", owner_id=owner
        )
        applied, due = result.credit_applied.amount, result.due.amount
        assert applied + due == amount and 0 <= applied <= amount
        assert (result.application is not None) == (result.entry is not None and applied > 0)
        return [e for e in (result.entry, result.application) if e is not None], (applied, due)
    entry = ledger.post(
        practice,
        client_id=CLIENT,
        kind=kind,
        amount=money,
        source_key=source,
        memo=kind,
        method=method,
        owner_id=owner,
    )
    return ([entry] if entry else []), None


def _sums(entries: list[LedgerEntry], owner: str | None) -> tuple[int, int]:
    """(receivable, credit) of an account, summed here from the raw lines of its entries."""
    lines = [ln for e in entries if e.owner_id == owner for ln in e.lines]
    receivable = sum(ln.amount for ln in lines if ln.account == "receivable")
    return receivable, -sum(ln.amount for ln in lines if ln.account == "credit")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_any_sequence_keeps_the_books_balanced(dynamodb, ops):
    with fresh_table(dynamodb) as table:
        _check_sequence(table, ops)


def _check_sequence(table: Table, ops: list[tuple[Any, ...]]) -> None:
    # Given a fresh practice and a client with two billing party accounts
    practice = new_id("prc")
    pk = keys.practice_pk(practice)
    ledger = LedgerService(store=LedgerStore(table), clock=_clock())
    posted: list[tuple[tuple[Any, ...], str]] = []  # (operation, source) of each first post
    owed: dict[str | None, int] = {None: 0, CONTACT: 0}  # the independent model
    charge_results: dict[str, tuple[int, int]] = {}
    written: list[LedgerEntry] = []
    first_seen: dict[str, dict[str, Any]] = {}  # every item as it was right after its write

    # When the operations are posted one by one (replays post an earlier operation's source again)
    for n, op in enumerate(ops):
        if op[0] == "replay" and not posted:
            continue
        if op[0] == "replay":
            first, source = posted[op[1] % len(posted)]
            new, charged = _post(ledger, practice, first, source)
            assert new == []  # a replay writes nothing…
            assert charged == charge_results.get(source)  # … and a charge says what it said first
        else:
            source = f"src:{n}"
            new, charged = _post(ledger, practice, op, source)
            assert new and new[0].source_key == source
            if charged is not None:
                charge_results[source] = charged
            posted.append((op, source))
            owed[_account(op[1])] += SIGN[op[0]] * op[3]
        written.extend(new)
        for e in new:
            for sk in (keys.ledger_sk(CLIENT, e.id), keys.ledger_guard_sk(e.source_key)):
                item = table.get(pk, sk)
                assert item is not None
                first_seen[sk] = item

        # Then after every step, on both accounts: the summary is the sum of the entries, neither
        # balance is negative, credit on hand pays what is due, and what is owed is the model's
        for owner in (None, CONTACT):
            summary = ledger.account(practice, CLIENT, "usd", owner)
            assert (summary.receivable, summary.credit) == _sums(written, owner)
            assert summary.receivable >= 0 and summary.credit >= 0
            assert summary.receivable == 0 or summary.credit == 0
            assert summary.owed == owed[owner]

    # Finally: nothing was edited in place, nothing else was written, every entry balances and
    # posts once with its guard, and the service's own checks agree
    items = {i["SK"]: i for i in table.query_all(pk)}
    for sk, item in first_seen.items():
        assert items[sk] == item, f"{sk} was edited in place"
    assert ledger.verify(practice, CLIENT) == []
    entries = ledger.entries(practice, CLIENT)
    assert entries == sorted(written, key=lambda e: e.id)
    for e in entries:
        assert e.lines and sum(line.amount for line in e.lines) == 0
        assert all(line.amount != 0 for line in e.lines)
        assert items[keys.ledger_guard_sk(e.source_key)]["entry_id"] == e.id
    sources = [e.source_key for e in entries]
    assert len(sources) == len(set(sources))
    applications = [e for e in entries if e.source_key.startswith("credit-apply:")]
    assert sorted(s for s in sources if not s.startswith("credit-apply:")) == sorted(s for _, s in posted)
    assert sum(a.amount.amount for a in applications) == sum(x for x, _ in charge_results.values())
    for a in applications:
        assert (a.kind, a.method, a.signed_amount) == ("payment", "credit", 0)
    # The balance is the sum of the entries, per account and in all, and matches the model
    balance = ledger.balance(practice, CLIENT, "usd")
    assert balance.owed == sum(owed.values()) == sum(e.signed_amount for e in entries)
    (r1, c1), (r2, c2) = _sums(entries, None), _sums(entries, CONTACT)
    assert (balance.receivable, balance.credit) == (r1 + r2, c1 + c2)
    used = {_account(op[1]) for op, _ in posted}
    assert {a.owner_id: a.owed for a in balance.accounts} == {k: v for k, v in owed.items() if k in used}
    assert {(a.owner_id, a.receivable, a.credit) for a in ledger.summaries(practice, CLIENT)} == {
        (a.owner_id, a.receivable, a.credit) for a in balance.accounts
    }


def test_amounts_must_be_positive_minor_units(dynamodb):
    with fresh_table(dynamodb) as table:
        _refuses_zero(table)


def _refuses_zero(table: Table) -> None:
    ledger = LedgerService(store=LedgerStore(table), clock=_clock())
    for kind in ("charge", "payment"):
        with pytest.raises(ValueError, match="positive"):
            ledger.post(
                "prc_x",
                client_id="cli_x",
                kind=kind,  # type: ignore[arg-type]
                amount=Money(amount=0, currency="usd"),
                source_key=f"zero:{kind}",
                memo="",
            )
    assert table.query_all(keys.practice_pk("prc_x")) == []
