"""Examples of the double-entry ledger: credit applied to what is due, overpayments, concurrent
charges, a crash between a charge and its application, refunds of credit, lost disputes, and the
staff view of billing party accounts."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from devstack.resources import table_definition
from moto import mock_aws

from tests.integration.conftest import AwsClients
from tests.integration.scenario import charge, create_client, create_practice, save_card
from therabill.adapters.dynamo import Table
from therabill.core import keys
from therabill.core.errors import DependencyUnavailableError
from therabill.core.ids import new_id
from therabill.core.money import Money
from therabill.ledger.chart import InsufficientCreditError
from therabill.ledger.service import LedgerService
from therabill.ledger.store import LedgerStore

CLIENT = "cli_examples"


def usd(amount: int) -> Money:
    return Money(amount=amount, currency="usd")


class Serialised:
    """The boto3 client with one request at a time, as DynamoDB applies each request (a
    transaction included) atomically; moto alone does not when threads race. Counts requests."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.RLock()
        self.calls: list[str] = []
        self.conflicts_to_raise = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            with self._lock:
                self.calls.append(name)
                if name == "transact_write_items" and self.conflicts_to_raise:
                    self.conflicts_to_raise -= 1
                    raise ClientError(
                        {
                            "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                            "CancellationReasons": [{"Code": "TransactionConflict"}],
                        },
                        "TransactWriteItems",
                    )
                return method(**kwargs)

        return call


@pytest.fixture
def dynamodb(aws_clients: AwsClients) -> Iterator[Any]:
    # Per test, not per module: a mock left open would keep moto's state across the ``world``
    # tests below (their own mock_aws would nest in it and not start clean).
    with mock_aws():
        client = aws_clients.client("dynamodb")
        client.create_table(**table_definition("ledger-examples"))
        yield client


@pytest.fixture
def client(dynamodb: Any) -> Serialised:
    return Serialised(dynamodb)


@pytest.fixture
def table(client: Serialised) -> Table:
    return Table(client, "ledger-examples")


@pytest.fixture
def ledger(table: Table) -> LedgerService:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    ticks = (start + timedelta(milliseconds=i) for i in itertools.count())
    return LedgerService(store=LedgerStore(table), clock=lambda: next(ticks))


@pytest.fixture
def practice() -> str:
    return new_id("prc")


def test_a_deposit_is_credit_and_the_next_charge_consumes_it(ledger, practice):
    # Given a deposit paid by card (nothing due yet)
    deposit = ledger.post(
        practice,
        client_id=CLIENT,
        kind="credit",
        amount=usd(5_000),
        source_key="dep:1",
        memo="Deposit",
        method="card",
    )
    assert deposit is not None
    assert [(x.account, x.amount) for x in deposit.lines] == [("cash:card", 5_000), ("credit", -5_000)]
    # When a session is charged
    result = ledger.post_charge(
        practice, client_id=CLIENT, amount=usd(8_000), source_key="session:ses_1", memo="Session"
    )
    # Then the credit pays part of it: only the remainder is left to collect on the card
    assert (result.credit_applied, result.due) == (usd(5_000), usd(3_000))
    assert result.application is not None
    assert result.application.source_key == "credit-apply:session:ses_1"
    assert [(x.account, x.amount) for x in result.application.lines] == [
        ("credit", 5_000),
        ("receivable", -5_000),
    ]
    account = ledger.account(practice, CLIENT, "usd")
    assert (account.receivable, account.credit, account.owed) == (3_000, 0, 3_000)
    # And a retry of the charge changes nothing and says the same
    again = ledger.post_charge(
        practice, client_id=CLIENT, amount=usd(8_000), source_key="session:ses_1", memo="Session"
    )
    assert (again.entry, again.credit_applied, again.due) == (None, usd(5_000), usd(3_000))
    assert (
        ledger.post(
            practice, client_id=CLIENT, kind="charge", amount=usd(8_000), source_key="session:ses_1", memo="x"
        )
        is None
    )
    assert len(ledger.entries(practice, CLIENT)) == 3
    assert ledger.verify(practice, CLIENT) == []


def test_an_overpayment_becomes_credit_for_the_next_charges(ledger, practice):
    ledger.post_charge(practice, client_id=CLIENT, amount=usd(3_000), source_key="c:1", memo="Session")
    cash = ledger.post(
        practice,
        client_id=CLIENT,
        kind="payment",
        amount=usd(5_000),
        source_key="m:1",
        memo="Cash",
        method="cash",
    )
    assert cash is not None
    assert [(x.account, x.amount) for x in cash.lines] == [
        ("cash:cash", 5_000),
        ("receivable", -3_000),
        ("credit", -2_000),
    ]
    assert ledger.account(practice, CLIENT, "usd").credit == 2_000
    first = ledger.post_charge(practice, client_id=CLIENT, amount=usd(1_500), source_key="c:2", memo="Copay")
    second = ledger.post_charge(practice, client_id=CLIENT, amount=usd(1_000), source_key="c:3", memo="Copay")
    assert (first.credit_applied, first.due) == (usd(1_500), usd(0))
    assert (second.credit_applied, second.due) == (usd(500), usd(500))
    balance = ledger.balance(practice, CLIENT, "usd")
    assert (balance.receivable, balance.credit, balance.owed) == (500, 0, 500)
    assert ledger.verify(practice, CLIENT) == []


def test_credit_posted_while_something_is_due_pays_it_at_once(ledger, practice):
    ledger.post_charge(practice, client_id=CLIENT, amount=usd(2_000), source_key="c:1", memo="Session")
    goodwill = ledger.post(
        practice, client_id=CLIENT, kind="credit", amount=usd(3_000), source_key="g:1", memo="Goodwill"
    )
    assert goodwill is not None
    assert [(x.account, x.amount) for x in goodwill.lines] == [
        ("adjustments", 3_000),
        ("receivable", -2_000),
        ("credit", -1_000),
    ]
    account = ledger.account(practice, CLIENT, "usd")
    assert (account.receivable, account.credit) == (0, 1_000)


def test_each_payer_uses_only_their_own_credit(ledger, practice):
    # Given a parent's credit (split billing: the contact's own account)
    ledger.post(
        practice,
        client_id=CLIENT,
        kind="payment",
        amount=usd(4_000),
        source_key="p:1",
        memo="Card",
        method="card",
        owner_id="con_parent",
    )
    # When the client themself (named by their own id, as payments do) is charged
    mine = ledger.post_charge(
        practice, client_id=CLIENT, amount=usd(1_000), source_key="c:1", memo="Copay", owner_id=CLIENT
    )
    theirs = ledger.post_charge(
        practice, client_id=CLIENT, amount=usd(1_000), source_key="c:2", memo="Copay", owner_id="con_parent"
    )
    # Then only the parent's charge uses the parent's credit
    assert (mine.credit_applied, theirs.credit_applied) == (usd(0), usd(1_000))
    assert mine.entry is not None and mine.entry.owner_id is None
    accounts = {
        a.owner_id: (a.receivable, a.credit) for a in ledger.balance(practice, CLIENT, "usd").accounts
    }
    assert accounts == {None: (1_000, 0), "con_parent": (0, 3_000)}


def test_concurrent_charges_never_overdraw_credit(ledger, table, client, practice):
    # Given 50.00 of credit
    ledger.post(
        practice,
        client_id=CLIENT,
        kind="credit",
        amount=usd(5_000),
        source_key="dep:1",
        memo="Deposit",
        method="card",
    )
    # When two charges of 40.00 race: both read the same summary before either writes
    barrier = threading.Barrier(2, timeout=10)
    waited: set[int] = set()
    read = table.get

    def racing_get(pk: str, sk: str, *, consistent: bool = True) -> Any:
        item = read(pk, sk, consistent=consistent)
        if sk.startswith("LEDGERBAL#") and threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        return item

    table.get = racing_get  # type: ignore[method-assign]
    results: dict[str, Any] = {}

    def post(source: str) -> None:
        results[source] = ledger.post_charge(
            practice, client_id=CLIENT, amount=usd(4_000), source_key=source, memo="Session"
        )

    threads = [threading.Thread(target=post, args=(f"session:{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    table.get = read  # type: ignore[method-assign]

    # Then one wrote first, the other re-read and applied only what was left
    assert len(results) == 2
    assert sorted(r.credit_applied.amount for r in results.values()) == [1_000, 4_000]
    assert sorted(r.due.amount for r in results.values()) == [0, 3_000]
    assert client.calls.count("transact_write_items") == 1 + 3  # the deposit, two charges, one retry
    account = ledger.account(practice, CLIENT, "usd")
    assert (account.receivable, account.credit) == (3_000, 0)
    assert ledger.verify(practice, CLIENT) == []


def test_a_transaction_conflict_is_retried(ledger, client, practice):
    client.conflicts_to_raise = 2  # DynamoDB's TransactionConflict, twice
    entry = ledger.post(
        practice,
        client_id=CLIENT,
        kind="payment",
        amount=usd(700),
        source_key="m:1",
        memo="Cash",
        method="cash",
    )
    assert entry is not None and client.calls.count("transact_write_items") == 3
    assert len(ledger.entries(practice, CLIENT)) == 1
    assert ledger.account(practice, CLIENT, "usd").credit == 700


def test_a_charge_left_without_its_application_is_completed_on_retry(ledger, table, practice):
    # Given credit, and a charge posted without its application (as a crash between them would)
    ledger.post(
        practice,
        client_id=CLIENT,
        kind="credit",
        amount=usd(2_000),
        source_key="dep:1",
        memo="Deposit",
        method="card",
    )
    ledger._apply_with_charge = False
    crashed = ledger.post_charge(
        practice, client_id=CLIENT, amount=usd(5_000), source_key="session:ses_9", memo="Session"
    )
    assert crashed.entry is not None and crashed.credit_applied == usd(0)
    assert table.get(keys.practice_pk(practice), keys.ledger_guard_sk("credit-apply:session:ses_9")) is None
    account = ledger.account(practice, CLIENT, "usd")
    assert (account.receivable, account.credit) == (5_000, 2_000)
    ledger._apply_with_charge = True
    # When the charge is posted again
    retried = ledger.post_charge(
        practice, client_id=CLIENT, amount=usd(5_000), source_key="session:ses_9", memo="Session"
    )
    # Then the application is completed, once
    assert (retried.entry, retried.credit_applied, retried.due) == (None, usd(2_000), usd(3_000))
    assert retried.application is not None and retried.application.amount == usd(2_000)
    again = ledger.post_charge(
        practice, client_id=CLIENT, amount=usd(5_000), source_key="session:ses_9", memo="Session"
    )
    assert (again.credit_applied, again.due, again.application) == (usd(2_000), usd(3_000), None)
    kinds = sorted((e.kind, e.method, e.amount.amount) for e in ledger.entries(practice, CLIENT))
    assert kinds == [("charge", None, 5_000), ("credit", "card", 2_000), ("payment", "credit", 2_000)]
    account = ledger.account(practice, CLIENT, "usd")
    assert (account.receivable, account.credit) == (3_000, 0)
    assert ledger.verify(practice, CLIENT) == []


def test_a_refunded_deposit_takes_its_credit_back_and_reopens_what_it_paid(ledger, practice):
    ledger.post(
        practice,
        client_id=CLIENT,
        kind="credit",
        amount=usd(5_000),
        source_key="dep:1",
        memo="Deposit",
        method="card",
    )
    ledger.post_charge(practice, client_id=CLIENT, amount=usd(3_000), source_key="c:1", memo="Session")
    refund = ledger.post(
        practice,
        client_id=CLIENT,
        kind="refund",
        amount=usd(5_000),
        source_key="refund:1",
        memo="Refund",
        method="card",
    )
    assert refund is not None
    assert [(x.account, x.amount) for x in refund.lines] == [
        ("credit", 2_000),
        ("receivable", 3_000),
        ("cash:card", -5_000),
    ]
    account = ledger.account(practice, CLIENT, "usd")
    assert (account.receivable, account.credit) == (3_000, 0)
    assert ledger.verify(practice, CLIENT) == []


def test_an_application_larger_than_the_credit_is_refused_and_writes_nothing(ledger, table, practice):
    ledger.post_charge(practice, client_id=CLIENT, amount=usd(1_000), source_key="c:1", memo="Session")
    with pytest.raises(InsufficientCreditError):
        ledger.post(
            practice,
            client_id=CLIENT,
            kind="payment",
            amount=usd(500),
            source_key="a:1",
            memo="x",
            method="credit",
        )
    assert table.get(keys.practice_pk(practice), keys.ledger_guard_sk("a:1")) is None
    assert len(ledger.entries(practice, CLIENT)) == 1


def test_verify_finds_a_summary_that_differs_from_its_entries(ledger, table, practice):
    ledger.post_charge(practice, client_id=CLIENT, amount=usd(1_000), source_key="c:1", memo="Session")
    assert ledger.verify(practice, CLIENT) == []
    table.update(
        keys.practice_pk(practice),
        keys.ledger_summary_sk(CLIENT, "-", "usd"),
        update="ADD receivable :one",
        values={":one": 1},
    )
    assert len(ledger.verify(practice, CLIENT)) == 1
    assert ledger.balance(practice, CLIENT, "usd").receivable == 1_000  # the entries are the truth


# -- through the staff API and webhooks ---------------------------------------------------------
def _ledger(world, practice, client):
    status, body = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=practice.id)
    assert status == 200, body
    return body


def test_the_staff_ledger_shows_lines_owners_and_each_payer_account(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    status, _ = world.staff(
        "POST",
        f"/clients/{client['id']}/payments/manual",
        {"amount": 4_000, "method": "cash"},
        practice_id=practice.id,
        headers={"Idempotency-Key": "manual-key-100"},
    )
    assert status == 201
    ledger = world.container.ledger
    world.clock.now += timedelta(seconds=1)
    result = ledger.post_charge(
        practice.id, client_id=client["id"], amount=usd(2_500), source_key="test:charge", memo="Session"
    )
    assert (result.credit_applied, result.due) == (usd(2_500), usd(0))
    world.clock.now += timedelta(seconds=1)
    ledger.post_charge(
        practice.id,
        client_id=client["id"],
        amount=usd(1_200),
        source_key="test:charge:con",
        memo="Session",
        owner_id="con_someparent",
    )
    body = _ledger(world, practice, client)
    assert (body["balance"], body["receivable"], body["credit"]) == (-300, 1_200, 1_500)
    assert body["accounts"] == [
        {"owner_id": None, "receivable": 0, "credit": 1_500, "owed": -1_500},
        {"owner_id": "con_someparent", "receivable": 1_200, "credit": 0, "owed": 1_200},
    ]
    shown = [(e["kind"], e["method"], e["owner_id"], e["signed_amount"], e["lines"]) for e in body["entries"]]
    assert shown == [
        (
            "payment",
            "cash",
            None,
            -4_000,
            [{"account": "cash:cash", "amount": 4_000}, {"account": "credit", "amount": -4_000}],
        ),
        (
            "charge",
            None,
            None,
            2_500,
            [{"account": "receivable", "amount": 2_500}, {"account": "revenue", "amount": -2_500}],
        ),
        (
            "payment",
            "credit",
            None,
            0,
            [{"account": "credit", "amount": 2_500}, {"account": "receivable", "amount": -2_500}],
        ),
        (
            "charge",
            None,
            "con_someparent",
            1_200,
            [{"account": "receivable", "amount": 1_200}, {"account": "revenue", "amount": -1_200}],
        ),
    ]
    assert sum(e["signed_amount"] for e in body["entries"]) == body["balance"]
    # Another practice sees nothing of it
    other = create_practice(world, connect=False)
    status, _ = world.staff("GET", f"/clients/{client['id']}/ledger", practice_id=other.id)
    assert status == 404


def test_refunding_a_card_deposit_takes_the_credit_back(world):
    # Given a card payment with nothing due: a deposit, held as credit
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    _, payment = charge(world, practice, client["id"], 5_000, kind="balance")
    assert payment["status"] == "succeeded"
    assert _ledger(world, practice, client)["accounts"][0]["credit"] == 5_000
    # When it is refunded in part, then in full
    for key, amount in (("refund-dep-0001", 2_000), ("refund-dep-0002", None)):
        world.clock.now += timedelta(seconds=1)
        status, out = world.staff(
            "POST",
            f"/clients/{client['id']}/payments/{payment['id']}/refunds",
            {} if amount is None else {"amount": amount},
            practice_id=practice.id,
            headers={"Idempotency-Key": key},
        )
        assert status == 201 and out["status"] == "succeeded", out
    # Then the credit went back out to the card, and nothing is owed either way
    body = _ledger(world, practice, client)
    refunds = [e["lines"] for e in body["entries"] if e["kind"] == "refund"]
    assert refunds == [
        [{"account": "credit", "amount": 2_000}, {"account": "cash:card", "amount": -2_000}],
        [{"account": "credit", "amount": 3_000}, {"account": "cash:card", "amount": -3_000}],
    ]
    assert (body["balance"], body["receivable"], body["credit"]) == (0, 0, 0)


def _dispute_event(world, practice, payment, shared_data, *, event_id, status, kind):
    event = json.loads((shared_data / "stripe" / "srm_evt_charge_dispute_created.json").read_text())
    dispute = event["data"]["object"]
    return json.dumps(
        {
            **event,
            "id": event_id,
            "type": kind,
            "account": practice.account,
            "created": int(world.clock().timestamp()),
            "data": {
                "object": {
                    **dispute,
                    "id": "dp_lostone",
                    "amount": payment["amount"],
                    "status": status,
                    "payment_intent": payment["payment_intent_id"],
                }
            },
        }
    )


def test_a_lost_dispute_reverses_the_payment_once(world, shared_data):
    # Given a copay paid by card against its charge
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    world.container.ledger.post_charge(
        practice.id, client_id=client["id"], amount=usd(2_500), source_key="copay:ses_x", memo="Copay"
    )
    world.clock.now += timedelta(seconds=1)
    _, payment = charge(world, practice, client["id"], 2_500)
    assert _ledger(world, practice, client)["balance"] == 0
    # When the dispute opens, nothing moves; when it is lost, the payment is reversed (once)
    opened = _dispute_event(
        world,
        practice,
        payment,
        shared_data,
        event_id="evt_dp_1",
        status="needs_response",
        kind="charge.dispute.created",
    )
    assert world.worker([opened]) == {"batchItemFailures": []}
    assert [e["kind"] for e in _ledger(world, practice, client)["entries"]] == ["charge", "payment"]
    for n in (2, 3):  # the closing event, and another event still saying "lost"
        lost = _dispute_event(
            world,
            practice,
            payment,
            shared_data,
            event_id=f"evt_dp_{n}",
            status="lost",
            kind="charge.dispute.closed",
        )
        assert world.worker([lost]) == {"batchItemFailures": []}
    body = _ledger(world, practice, client)
    chargebacks = [e for e in body["entries"] if e["kind"] == "chargeback"]
    assert len(chargebacks) == 1 and chargebacks[0]["payment_id"] == payment["id"]
    assert chargebacks[0]["lines"] == [
        {"account": "receivable", "amount": 2_500},
        {"account": "cash:card", "amount": -2_500},
    ]
    assert (body["balance"], body["receivable"]) == (2_500, 2_500)
    _, shown = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id
    )
    assert shown["dispute_status"] == "lost"


def test_throttling_is_not_retried_here_and_writes_nothing(ledger, client, practice):
    def throttled(**kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "TransactWriteItems",
        )

    client.transact_write_items = throttled  # instance attribute: found before __getattr__
    with pytest.raises(DependencyUnavailableError):
        ledger.post(
            practice,
            client_id=CLIENT,
            kind="payment",
            amount=usd(700),
            source_key="m:1",
            memo="Cash",
            method="cash",
        )
    del client.transact_write_items
    assert ledger.entries(practice, CLIENT) == []


def test_a_sessions_entries_are_read_from_its_booking_on_not_the_whole_history(table, practice):
    """``session_entries`` reads a key range starting a day before the booking: a client's older
    history is not read again for each session, and nothing of the session's is missed."""
    now = {"t": datetime(2024, 1, 1, tzinfo=UTC)}
    ledger = LedgerService(store=LedgerStore(table), clock=lambda: now["t"])
    for n in range(30):  # two years of history, a charge and its payment a month
        now["t"] = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=30 * n)
        ledger.post_charge(practice, client_id=CLIENT, amount=usd(1_000), source_key=f"old:{n}", memo="x")
        ledger.post(
            practice,
            client_id=CLIENT,
            kind="payment",
            amount=usd(1_000),
            source_key=f"pay:{n}",
            memo="x",
            method="card",
        )
    booked = datetime(2026, 11, 20, 9, tzinfo=UTC)
    now["t"] = booked - timedelta(hours=20)  # within the clock margin: still read
    ledger.post(
        practice,
        client_id=CLIENT,
        kind="credit",
        amount=usd(500),
        source_key="dep:9",
        memo="x",
        method="card",
    )
    now["t"] = booked + timedelta(days=2)
    ledger.post_charge(practice, client_id=CLIENT, amount=usd(8_000), source_key="session:ses_9", memo="x")

    recent = ledger.session_entries(practice, CLIENT, booked)
    assert [e.source_key for e in recent] == ["dep:9", "session:ses_9", "credit-apply:session:ses_9"]
    everything = ledger.entries(practice, CLIENT)
    assert len(everything) == 60 + 3 and everything[-3:] == recent
    assert ledger.entries(practice, CLIENT, since=booked + timedelta(days=3)) == []
