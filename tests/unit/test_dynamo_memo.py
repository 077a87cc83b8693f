"""The table adapter's per-unit-of-work read memo: GetItem results are remembered inside
``Table.unit_of_work()`` only, every write forgets its keys before it is sent, and a write that
fails in any way forgets everything (so a retry's re-read comes from the table)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from devstack.resources import table_definition
from moto import mock_aws

from therabill.adapters.dynamo import ConditionFailed, Table, put_new_write
from therabill.core.errors import ConflictError, DependencyUnavailableError
from therabill.core.writes import Write

PK = "P#prc_memo"


class Spy:
    """The boto3 client, counting the requests that reach it; ``fail_next`` makes the next call
    of an operation raise the given DynamoDB error code, ``before`` runs before a call is sent."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []
        self.fail_next: dict[str, dict[str, Any]] = {}
        self.before: dict[str, Callable[[], None]] = {}

    def count(self, name: str) -> int:
        return self.calls.count(name)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            hook = self.before.pop(name, None)
            if hook:
                hook()
            error = self.fail_next.pop(name, None)
            if error:
                raise ClientError(error, name)
            return method(**kwargs)

        return call


@pytest.fixture
def client(dynamodb_client: Any) -> Iterator[Any]:
    with mock_aws():
        dynamodb_client.create_table(**table_definition("memo"))
        yield dynamodb_client


@pytest.fixture
def spy(client: Any) -> Spy:
    return Spy(client)


@pytest.fixture
def table(spy: Spy) -> Table:
    return Table(spy, "memo")


@pytest.fixture
def someone_else(client: Any) -> Table:
    """Another writer (another request, the webhook worker): its own Table, in no unit of work."""
    return Table(client, "memo")


def _item(sk: str, **attrs: Any) -> dict[str, Any]:
    return {"PK": PK, "SK": sk, **attrs}


def _reads(table: Table, spy: Spy, sk: str, times: int = 2) -> tuple[list[Any], int]:
    """Read ``sk`` ``times`` times: the results and how many GetItems reached DynamoDB."""
    before, count_before = spy.count("get_item"), table.request_count
    results = [table.get(PK, sk) for _ in range(times)]
    real = spy.count("get_item") - before
    assert table.request_count - count_before == real  # request_count counts only real requests
    return results, real


# -- hits ---------------------------------------------------------------------------------------


def test_a_repeated_get_inside_a_unit_of_work_is_one_request(table, spy, someone_else):
    someone_else.put(_item("CLIENT#c1", name="Ada", tags=["a"]))
    with table.unit_of_work():
        results, real = _reads(table, spy, "CLIENT#c1", times=3)
    assert real == 1
    assert results == [_item("CLIENT#c1", name="Ada", tags=["a"])] * 3


def test_nothing_is_remembered_outside_a_unit_of_work(table, spy, someone_else):
    someone_else.put(_item("CLIENT#c1", name="Ada"))
    _, real = _reads(table, spy, "CLIENT#c1")
    assert real == 2
    with table.unit_of_work():
        table.get(PK, "CLIENT#c1")
    # When the unit has ended, another writer's change is seen at once
    someone_else.put(_item("CLIENT#c1", name="Grace"))
    assert table.get(PK, "CLIENT#c1") == _item("CLIENT#c1", name="Grace")


def test_a_hit_is_a_copy_never_the_remembered_item(table, spy, someone_else):
    someone_else.put(_item("CLIENT#c1", name="Ada", address={"city": "Paris"}, tags=["a"]))
    with table.unit_of_work():
        first = table.get(PK, "CLIENT#c1")
        assert first is not None
        first["name"] = "changed"
        first["address"]["city"] = "changed"
        first["tags"].append("changed")
        second = table.get(PK, "CLIENT#c1")
        assert second == _item("CLIENT#c1", name="Ada", address={"city": "Paris"}, tags=["a"])
        assert second is not None
        second["address"]["city"] = "again"
        third = table.get(PK, "CLIENT#c1")
    assert third is not None and third["address"] == {"city": "Paris"}
    assert spy.count("get_item") == 1


def test_not_found_is_remembered_and_a_put_forgets_it(table, spy):
    with table.unit_of_work():
        results, real = _reads(table, spy, "CLIENT#c1")
        assert (results, real) == ([None, None], 1)
        table.put_new(_item("CLIENT#c1", name="Ada"))
        results, real = _reads(table, spy, "CLIENT#c1")
    assert results == [_item("CLIENT#c1", name="Ada")] * 2
    assert real == 1


def test_consistent_reads_are_answered_only_by_consistent_reads(table, spy, someone_else):
    someone_else.put(_item("SERVICE#s1", name="Intake"))
    with table.unit_of_work():
        table.get(PK, "SERVICE#s1", consistent=False)
        table.get(PK, "SERVICE#s1", consistent=False)  # an eventual read shares the memo
        assert spy.count("get_item") == 1
        table.get(PK, "SERVICE#s1")  # a consistent read is not answered by an eventual one
        assert spy.count("get_item") == 2
        table.get(PK, "SERVICE#s1")
        table.get(PK, "SERVICE#s1", consistent=False)
        assert spy.count("get_item") == 2
        table.get(PK, "SERVICE#s1", consistent=False, fresh=True)  # an eventual fresh read ...
        table.get(PK, "SERVICE#s1")  # ... does not replace the consistent one
    assert spy.count("get_item") == 3


def test_fresh_reads_go_to_the_table_and_refresh_the_memo(table, spy, someone_else):
    someone_else.put(_item("CARD#c1#k1", status="active"))
    with table.unit_of_work():
        assert table.get(PK, "CARD#c1#k1") == _item("CARD#c1#k1", status="active")
        someone_else.put(_item("CARD#c1#k1", status="removed"))
        assert table.get(PK, "CARD#c1#k1") == _item("CARD#c1#k1", status="active")  # remembered
        assert table.get(PK, "CARD#c1#k1", fresh=True) == _item("CARD#c1#k1", status="removed")
        someone_else.put(_item("CARD#c1#k1", status="active"))
        with Table.fresh_reads():
            assert table.get(PK, "CARD#c1#k1") == _item("CARD#c1#k1", status="active")
        assert table.get(PK, "CARD#c1#k1") == _item("CARD#c1#k1", status="active")  # refreshed
    assert spy.count("get_item") == 3


# -- every write forgets its keys ---------------------------------------------------------------


def _put(t: Table) -> None:
    t.put(_item("X#1", v=2))


def _put_conditional(t: Table) -> None:
    t.put(_item("X#1", v=2), condition="attribute_exists(PK)")


def _update(t: Table) -> None:
    t.update(PK, "X#1", update="SET v = :v", values={":v": 2})


def _patch(t: Table) -> None:
    t.patch(PK, "X#1", {"v": 2}, expected_version=1, what="thing")


def _delete(t: Table) -> None:
    t.delete(PK, "X#1")


def _transact_put(t: Table) -> None:
    t.transact([Write(kind="put", item=_item("X#1", v=2)), put_new_write(_item("Y#1"))])


def _transact_update(t: Table) -> None:
    t.transact(
        [
            put_new_write(_item("Y#1")),
            Write(kind="update", key=Table.key(PK, "X#1"), update="SET v = :v", values={":v": 2}),
        ]
    )


def _transact_check(t: Table) -> None:
    t.transact(
        [
            put_new_write(_item("Y#1")),
            Write(kind="check", key=Table.key(PK, "X#1"), condition="attribute_exists(PK)"),
        ]
    )


WRITES = {
    "put": _put,
    "put with a condition": _put_conditional,
    "update": _update,
    "patch": _patch,
    "delete": _delete,
    "transact put": _transact_put,
    "transact update": _transact_update,
    "transact condition check": _transact_check,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_forgets_its_key_before_it_is_sent(write, table, spy, someone_else):
    someone_else.put(_item("X#1", v=1, version=1))
    with table.unit_of_work():
        assert table.get(PK, "X#1") == _item("X#1", v=1, version=1)
        # Another writer changes the item; the remembered read still says v=1 ...
        someone_else.put(_item("X#1", v=5, version=1))
        assert table.get(PK, "X#1")["v"] == 1  # type: ignore[index]
        # ... and while our write is on its way, a read of its key already goes to the table
        seen_while_sending: list[Any] = []
        op = {
            _put: "put_item",
            _put_conditional: "put_item",
            _update: "update_item",
            _patch: "update_item",
            _delete: "delete_item",
        }.get(write, "transact_write_items")
        spy.before[op] = lambda: seen_while_sending.append(table.get(PK, "X#1"))
        write(table)
        after = table.get(PK, "X#1")
    assert seen_while_sending == [_item("X#1", v=5, version=1)]
    assert after == someone_else.get(PK, "X#1")


def test_an_update_remembers_the_item_it_returns(table, spy, someone_else):
    someone_else.put(_item("X#1", v=1, version=1))
    with table.unit_of_work():
        table.get(PK, "X#1")
        updated = table.patch(PK, "X#1", {"v": 2}, expected_version=1, what="thing")
        gets = spy.count("get_item")
        assert table.get(PK, "X#1") == updated == _item("X#1", v=2, version=2)
        assert spy.count("get_item") == gets  # the ALL_NEW image answered


def test_a_query_forgets_the_items_it_returned(table, spy, someone_else):
    someone_else.put(_item("SESSION#c1#s1", status="booked"))
    with table.unit_of_work():
        table.get(PK, "SESSION#c1#s1")
        someone_else.put(_item("SESSION#c1#s1", status="cancelled"))
        listed = table.query(PK, prefix="SESSION#c1#").items
        again = table.get(PK, "SESSION#c1#s1")
    assert [i["status"] for i in listed] == ["cancelled"]
    assert again == _item("SESSION#c1#s1", status="cancelled")
    assert spy.count("get_item") == 2


# -- a failed write forgets everything ----------------------------------------------------------


def _remember_two_then_change_them(table: Table, someone_else: Table) -> None:
    someone_else.put(_item("A#1", v=1))
    someone_else.put(_item("B#1", v=1))
    table.get(PK, "A#1")
    table.get(PK, "B#1")
    someone_else.put(_item("A#1", v=2))
    someone_else.put(_item("B#1", v=2))
    assert table.get(PK, "A#1") == _item("A#1", v=1)  # still remembered


def _both_read_fresh(table: Table, spy: Spy) -> None:
    gets = spy.count("get_item")
    assert table.get(PK, "A#1") == _item("A#1", v=2)
    assert table.get(PK, "B#1") == _item("B#1", v=2)
    assert spy.count("get_item") == gets + 2


def test_a_failed_conditional_write_forgets_the_whole_memo(table, spy, someone_else):
    someone_else.put(_item("C#1"))
    with table.unit_of_work():
        _remember_two_then_change_them(table, someone_else)
        with pytest.raises(ConditionFailed):
            table.put_new(_item("C#1"))  # another key: the whole memo goes
        _both_read_fresh(table, spy)


def test_a_failed_patch_forgets_the_whole_memo(table, spy, someone_else):
    someone_else.put(_item("C#1", version=3))
    with table.unit_of_work():
        _remember_two_then_change_them(table, someone_else)
        with pytest.raises(ConflictError):
            table.patch(PK, "C#1", {"v": 1}, expected_version=2, what="thing")
        _both_read_fresh(table, spy)


def test_a_failed_transaction_forgets_the_whole_memo(table, spy, someone_else):
    someone_else.put(_item("C#1"))
    with table.unit_of_work():
        _remember_two_then_change_them(table, someone_else)
        with pytest.raises(ConditionFailed) as failed:
            table.transact([put_new_write(_item("D#1")), put_new_write(_item("C#1"))])
        assert failed.value.index == 1
        _both_read_fresh(table, spy)


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        (
            "transact_write_items",
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
            },
        ),
        (
            "update_item",
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        ),
        ("put_item", {"Error": {"Code": "ValidationException", "Message": "anything else"}}),
    ],
    ids=["transaction conflict", "throttled update", "any other error"],
)
def test_any_failed_write_forgets_the_whole_memo(operation, error, table, spy, someone_else):
    writes: dict[str, Callable[[], None]] = {
        "transact_write_items": lambda: table.transact(
            [put_new_write(_item("D#1")), put_new_write(_item("E#1"))]
        ),
        "update_item": lambda: _update(table),
        "put_item": lambda: table.put(_item("D#1")),
    }
    with table.unit_of_work():
        _remember_two_then_change_them(table, someone_else)
        spy.fail_next[operation] = error
        with pytest.raises((DependencyUnavailableError, ClientError)):
            writes[operation]()
        _both_read_fresh(table, spy)


def test_a_retry_after_a_conflict_reads_fresh(table, spy, someone_else):
    """The shape of the ledger's and ``patch`` callers' loops: read, write conditioned on what was
    read, and on a conflict read again and retry."""
    someone_else.put(_item("LEDGERBAL#c1", version=1, credit=0))
    with table.unit_of_work():
        table.get(PK, "LEDGERBAL#c1")
        someone_else.put(_item("LEDGERBAL#c1", version=2, credit=500))  # a concurrent posting
        attempts = 0
        while True:
            attempts += 1
            current = table.get(PK, "LEDGERBAL#c1")
            assert current is not None
            try:
                table.patch(
                    PK,
                    "LEDGERBAL#c1",
                    {"credit": current["credit"] + 100},
                    expected_version=current["version"],
                    what="summary",
                )
                break
            except ConflictError:
                assert attempts < 3
    assert attempts == 2
    assert someone_else.get(PK, "LEDGERBAL#c1") == _item("LEDGERBAL#c1", version=3, credit=600)


# -- scope ---------------------------------------------------------------------------------------


def test_nested_units_share_the_outer_memo(table, spy, someone_else):
    someone_else.put(_item("X#1", v=1))
    with table.unit_of_work():
        table.get(PK, "X#1")
        with table.unit_of_work():
            table.get(PK, "X#1")  # the outer one's memo answers
        table.get(PK, "X#1")  # and it is still open after the inner one ends
        assert spy.count("get_item") == 1
    table.get(PK, "X#1")
    assert spy.count("get_item") == 2


def test_a_unit_of_work_covers_only_its_own_table(table, client, someone_else):
    someone_else.put(_item("X#1", v=1))
    other_spy = Spy(client)
    other = Table(other_spy, "memo")
    with table.unit_of_work():
        other.get(PK, "X#1")
        other.get(PK, "X#1")
    assert other_spy.count("get_item") == 2


def test_concurrent_requests_in_threads_never_share_a_memo(table, spy, someone_else):
    someone_else.put(_item("X#1", v=1))
    first_read, changed, second_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def request_a() -> None:
        with table.unit_of_work():
            seen["a1"] = table.get(PK, "X#1")
            first_read.set()
            second_done.wait(5)
            seen["a2"] = table.get(PK, "X#1")  # its own memo: what it read before

    def request_b() -> None:
        changed.wait(5)
        with table.unit_of_work():
            seen["b"] = table.get(PK, "X#1")  # never request A's memo
        seen["b_outside"] = [table.get(PK, "X#1"), table.get(PK, "X#1")]
        second_done.set()

    a, b = threading.Thread(target=request_a), threading.Thread(target=request_b)
    a.start()
    b.start()
    assert first_read.wait(5)
    someone_else.put(_item("X#1", v=2))
    changed.set()
    a.join(5)
    b.join(5)
    assert seen["a1"] == seen["a2"] == _item("X#1", v=1)
    assert seen["b"] == _item("X#1", v=2)
    assert seen["b_outside"] == [_item("X#1", v=2)] * 2
    assert spy.count("get_item") == 4  # a once, b once in its unit, twice outside


def test_another_context_does_not_see_the_unit(table, spy, someone_else):
    someone_else.put(_item("X#1", v=1))

    def read_twice() -> None:
        table.get(PK, "X#1")
        table.get(PK, "X#1")

    with table.unit_of_work():
        table.get(PK, "X#1")
        contextvars.Context().run(read_twice)  # e.g. a task started without this context
        table.get(PK, "X#1")
    assert spy.count("get_item") == 3


# -- where units of work are opened -------------------------------------------------------------


class _Box:
    """What an entry point reaches through ``container()``: here only the table (and a stand-in
    for the nightly service, which the patched message handlers ignore)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.nightly: Any = object()
        self.inbox: Any = object()
        self.dispatcher: Any = object()
        self.clock: Any = object()


def _read_twice(table: Table) -> None:
    table.get(PK, "X#1")
    table.get(PK, "X#1")


@pytest.mark.parametrize("name", ["staff_api", "public_api"])
def test_an_api_request_is_one_unit_of_work(name, table, spy, someone_else, monkeypatch):
    import importlib

    from devstack import apigw

    module = importlib.import_module(f"therabill.entrypoints.{name}")
    someone_else.put(_item("X#1"))
    monkeypatch.setattr(module, "container", lambda: _Box(table))

    def resolve(event: Any, context: Any) -> dict[str, Any]:
        _read_twice(table)
        return {"statusCode": 200, "body": ""}

    if hasattr(module, "resolver_for"):  # the staff API: a resolver per router, chosen by path
        monkeypatch.setattr(module, "resolver_for", lambda event: SimpleNamespace(resolve=resolve))
    else:
        monkeypatch.setattr(module.app, "resolve", resolve)
    event = apigw.rest_event("GET", "/anything")
    for _ in range(2):
        module.lambda_handler(event, apigw.LambdaContext(name))
    assert spy.count("get_item") == 2  # once per request: a unit each, none left open after
    _read_twice(table)
    assert spy.count("get_item") == 4


def test_a_webhook_delivery_is_one_unit_of_work(table, spy, someone_else, monkeypatch):
    from devstack import apigw
    from therabill.entrypoints import stripe_webhook

    someone_else.put(_item("X#1"))
    monkeypatch.setattr(stripe_webhook, "container", lambda: _Box(table))

    def receive(event: Any, **_: Any) -> dict[str, Any]:
        _read_twice(table)
        return {"statusCode": 200, "body": ""}

    monkeypatch.setattr(stripe_webhook, "receive", receive)
    stripe_webhook.lambda_handler(apigw.rest_event("POST", "/webhooks/stripe"), apigw.LambdaContext("w"))
    assert spy.count("get_item") == 1


def test_the_stripe_worker_opens_one_unit_per_record(table, spy, someone_else, monkeypatch):
    from devstack import apigw
    from therabill.webhooks import worker

    someone_else.put(_item("X#1"))

    def apply_record(body: str, **_: Any) -> str:
        _read_twice(table)
        if body == "fail":
            table.put(_item("Y#1"), condition="attribute_exists(PK)")  # fails: memo forgotten
        return "ok"

    monkeypatch.setattr(worker, "apply_record", apply_record)
    result = worker.process_batch(
        apigw.sqs_event(["a", "fail", "b"]),
        inbox=object(),  # type: ignore[arg-type]
        dispatcher=object(),  # type: ignore[arg-type]
        unit_of_work=table.unit_of_work,
    )
    assert len(result["batchItemFailures"]) == 1
    assert spy.count("get_item") == 3  # one per record, never shared across records


def test_the_nightly_worker_opens_one_unit_per_message(table, spy, someone_else, monkeypatch):
    from devstack import apigw
    from therabill.entrypoints import nightly_worker
    from therabill.nightly import worker

    someone_else.put(_item("X#1"))
    monkeypatch.setattr(nightly_worker, "container", lambda: _Box(table))

    def apply_message(body: str, nightly: Any) -> str:
        _read_twice(table)
        return "processed"

    monkeypatch.setattr(worker, "apply_message", apply_message)
    out = nightly_worker.lambda_handler(apigw.sqs_event(["m1", "m2"]), apigw.LambdaContext("w"))
    assert out == {"batchItemFailures": []}
    assert spy.count("get_item") == 2


def test_the_nightly_dispatch_opens_a_unit_for_one_practice_not_for_the_sweep(
    table, spy, someone_else, monkeypatch
):
    from devstack import apigw
    from therabill.entrypoints import nightly_dispatch

    someone_else.put(_item("X#1"))

    class Nightly:
        def sweep(self) -> int:
            _read_twice(table)
            return 0

        def fire(self, practice_id: str, *, at: Any, trigger: str) -> None:
            _read_twice(table)

    box = _Box(table)
    box.nightly = Nightly()
    monkeypatch.setattr(nightly_dispatch, "container", lambda: box)
    context = apigw.LambdaContext("d")
    nightly_dispatch.lambda_handler({"practice_id": "prc_" + "0" * 26, "kind": "run"}, context)
    assert spy.count("get_item") == 1
    nightly_dispatch.lambda_handler({"schedule": "nightly-sweep"}, context)
    assert spy.count("get_item") == 3  # the sweep, over many practices, remembers nothing


# -- several items in one round (BatchGetItem) ------------------------------------------------------


def test_get_many_reads_found_items_in_one_request_and_leaves_missing_keys_out(table, spy, someone_else):
    # Given two stored items and one key that holds nothing
    someone_else.put(_item("CLIENT#c1", name="Ada"))
    someone_else.put(_item("CLIENT#c2", name="Grace"))
    # When they are read together
    got = table.get_many([(PK, "CLIENT#c1"), (PK, "CLIENT#nobody"), (PK, "CLIENT#c2"), (PK, "CLIENT#c1")])
    # Then one request answers, with the found items by key
    assert spy.count("batch_get_item") == 1
    assert table.request_count == 1
    assert got == {
        (PK, "CLIENT#c1"): _item("CLIENT#c1", name="Ada"),
        (PK, "CLIENT#c2"): _item("CLIENT#c2", name="Grace"),
    }


def test_get_many_inside_a_unit_of_work_is_remembered_both_ways(table, spy, someone_else):
    someone_else.put(_item("CLIENT#c1", name="Ada"))
    someone_else.put(_item("CLIENT#c2", name="Grace"))
    with table.unit_of_work():
        table.get(PK, "CLIENT#c1")  # seen before: not asked for again
        got = table.get_many([(PK, "CLIENT#c1"), (PK, "CLIENT#c2"), (PK, "CLIENT#none")])
        assert spy.calls.count("batch_get_item") == 1
        # what the batch read (found or not) answers later GetItems
        assert table.get(PK, "CLIENT#c2") == _item("CLIENT#c2", name="Grace")
        assert table.get(PK, "CLIENT#none") is None
    assert spy.count("get_item") == 1
    assert set(got) == {(PK, "CLIENT#c1"), (PK, "CLIENT#c2")}


def test_get_many_asks_again_for_unprocessed_keys_then_fails_as_busy(client, someone_else):
    someone_else.put(_item("CLIENT#c1", name="Ada"))

    class Unprocessing:
        """A client that leaves every key unprocessed for its first ``rounds`` batch reads."""

        def __init__(self, rounds: int) -> None:
            self.rounds, self.calls = rounds, 0

        def batch_get_item(self, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls <= self.rounds:
                return {"Responses": {"memo": []}, "UnprocessedKeys": kwargs["RequestItems"]}
            return client.batch_get_item(**kwargs)

    once = Unprocessing(rounds=1)
    assert Table(once, "memo").get_many([(PK, "CLIENT#c1")]) == {
        (PK, "CLIENT#c1"): _item("CLIENT#c1", name="Ada")
    }
    assert once.calls == 2
    with pytest.raises(DependencyUnavailableError):
        Table(Unprocessing(rounds=99), "memo").get_many([(PK, "CLIENT#c1")])
