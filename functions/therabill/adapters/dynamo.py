"""DynamoDB access for every repository: one table, typed errors, opaque cursors.

Repositories build keys and conditions; this module only speaks DynamoDB. Every failure is turned
into a domain error in one place (``_translate``): a failed condition becomes ``ConditionFailed``
carrying the item as it is now, throttling and service faults become DependencyUnavailableError.

A unit of work (``with table.unit_of_work():``, one per API request or queue record) remembers
the GetItem results it has seen, so services that each read what they need do not repeat the same
request. Every write drops its keys from the memo before it is sent, and a write that fails in any
way forgets the whole memo (the retry loops that re-read after a conflict read fresh). Outside a
unit of work nothing is remembered.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill import contract
from therabill.core.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidRequestError,
    NotFoundError,
    TherabillError,
)
from therabill.core.writes import Write

Item = dict[str, Any]

_THROTTLING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)


class ConditionFailed(TherabillError):
    """A conditional write found the item in another state. ``current`` is the item now (or None)."""

    def __init__(self, current: Item | None, index: int | None = None) -> None:
        super().__init__("condition failed", index=index)
        self.current = current
        self.index = index


def _to_python(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _to_python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_python(v) for v in value]
    if isinstance(value, set):
        return {_to_python(v) for v in value}
    return value


class _Codec:
    def __init__(self) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer  # noqa: PLC0415 - with the client

        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    def dump(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(v) for k, v in item.items() if v is not None}

    def dump_value(self, value: Any) -> Any:
        return self._ser.serialize(value)

    def load(self, raw: Mapping[str, Any]) -> Item:
        return {k: _to_python(self._de.deserialize(v)) for k, v in raw.items()}


@dataclass(frozen=True)
class Page:
    items: list[Item]
    cursor: str | None


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


_TABLE_KEY = frozenset({contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY})
_INDEX_KEY = _TABLE_KEY | {contract.GSI1_PARTITION_KEY, contract.GSI1_SORT_KEY}


def decode_cursor(
    cursor: str | None, *, partition: str, prefix: str | None = None, index: str | None = None
) -> dict[str, Any] | None:
    """A cursor is only good for the query it came from (its partition, its sort-key prefix, its
    key attributes); anything else is a 400, never a database error."""
    if not cursor:
        return None
    invalid = InvalidRequestError("the cursor is not valid", field="cursor")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise invalid
    if set(key) != (_INDEX_KEY if index else _TABLE_KEY):
        raise invalid
    pk_name = contract.GSI1_PARTITION_KEY if index else contract.TABLE_PARTITION_KEY
    sk_name = contract.GSI1_SORT_KEY if index else contract.TABLE_SORT_KEY
    if key[pk_name] != partition or (prefix and not key[sk_name].startswith(prefix)):
        raise invalid
    return key


@dataclass(frozen=True)
class _Seen:
    """One GetItem result remembered by a unit of work (``item`` None: the key was not found)."""

    item: Item | None
    consistent: bool  # read with ConsistentRead (or the ALL_NEW image of our own update)


_Memo = dict[tuple[str, str], _Seen]

# The open units of work of this context, by table. A ContextVar, so threads (the local gateway
# serves requests concurrently) and asyncio tasks never share one; entering a unit sets a new
# mapping and leaving it restores the old one, so the mapping itself is never mutated.
_UNITS: ContextVar[Mapping[Table, _Memo]] = ContextVar("therabill_dynamo_units", default=MappingProxyType({}))
# Inside ``Table.fresh_reads()``: GetItems go to the table (and refresh the memo).
_FRESH: ContextVar[bool] = ContextVar("therabill_dynamo_fresh", default=False)


class Table:
    """The single table. ``client`` is a boto3 DynamoDB client (created by the caller, cached)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.name = table_name
        self._codec = _Codec()
        self.request_count = 0  # read by the benchmark: real requests only, never memo hits

    # -- unit of work ---------------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Remember GetItem results until the block ends (one API request, one queue record).
        Nested units share the outer one's memo."""
        units = _UNITS.get()
        if self in units:
            yield
            return
        token = _UNITS.set(MappingProxyType({**units, self: {}}))
        try:
            yield
        finally:
            _UNITS.reset(token)

    @staticmethod
    @contextmanager
    def fresh_reads() -> Iterator[None]:
        """Every GetItem in the block goes to the table, as with ``get(..., fresh=True)``: for the
        reads that decide whether to call Stripe or move money, which an earlier read in the same
        unit of work (before a slow Stripe call, or an earlier item of a batch) must not answer."""
        token = _FRESH.set(True)
        try:
            yield
        finally:
            _FRESH.reset(token)

    def _memo(self) -> _Memo | None:
        return _UNITS.get().get(self)

    @contextmanager
    def _writing(self, keys: Sequence[tuple[str, str]]) -> Iterator[_Memo | None]:
        """Around one write request: its keys are forgotten before it is sent (and again once it
        is done, in case anything read them meanwhile); if it fails in any way (a failed
        condition, a cancelled transaction, throttling, anything) the whole memo is forgotten, so
        whatever the caller reads next (a retry's re-read) comes from the table."""
        memo = self._memo()
        if memo is None:
            yield None
            return
        for k in keys:
            memo.pop(k, None)
        try:
            yield memo
        except BaseException:
            memo.clear()
            raise
        for k in keys:
            memo.pop(k, None)

    @staticmethod
    def _item_key(item: Mapping[str, Any]) -> tuple[str, str]:
        return str(item[contract.TABLE_PARTITION_KEY]), str(item[contract.TABLE_SORT_KEY])

    # -- errors ---------------------------------------------------------------------------------
    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if code == "ConditionalCheckFailedException":
                old: Any = exc.response.get("Item")
                raise ConditionFailed(self._codec.load(old) if old else None) from exc
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                for index, reason in enumerate(reasons):
                    if reason.get("Code") == "ConditionalCheckFailed":
                        raw = reason.get("Item")
                        raise ConditionFailed(self._codec.load(raw) if raw else None, index) from exc
                if any(r.get("Code") in ("ThrottlingError", "TransactionConflict") for r in reasons):
                    raise DependencyUnavailableError("the database is busy; try again") from exc
            if code in _THROTTLING:
                raise DependencyUnavailableError("the database is busy; try again") from exc
            raise
        except BotoCoreError as exc:
            raise DependencyUnavailableError("the database could not be reached") from exc

    @staticmethod
    def key(pk: str, sk: str) -> dict[str, str]:
        return {contract.TABLE_PARTITION_KEY: pk, contract.TABLE_SORT_KEY: sk}

    def _values(self, values: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return {k: self._codec.dump_value(v) for k, v in values.items()} if values else None

    def _expressions(
        self, condition: str | None, names: dict[str, str] | None, values: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The condition and expression attributes of one write; a failed condition returns the
        item as it is now, so callers can tell 'missing' from 'in another state'."""
        out: dict[str, Any] = {}
        if condition:
            out["ConditionExpression"] = condition
            out["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if names:
            out["ExpressionAttributeNames"] = names
        if values:
            out["ExpressionAttributeValues"] = self._values(values)
        return out

    # -- single items ---------------------------------------------------------------------------
    def get(self, pk: str, sk: str, *, consistent: bool = True, fresh: bool = False) -> Item | None:
        """The item, or None. Inside a unit of work an earlier result for the key is returned (a
        copy) unless ``fresh``; a consistent read is served only by an earlier consistent one."""
        memo = self._memo()
        if memo is not None and not (fresh or _FRESH.get()):
            seen = memo.get((pk, sk))
            if seen is not None and (seen.consistent or not consistent):
                return copy.deepcopy(seen.item)
        with self._translate():
            self.request_count += 1
            out = self._client.get_item(
                TableName=self.name, Key=self._codec.dump(self.key(pk, sk)), ConsistentRead=consistent
            )
        raw: Mapping[str, Any] | None = out.get("Item")
        item = self._codec.load(raw) if raw else None
        if memo is not None and (consistent or (pk, sk) not in memo):  # never trade down a consistent read
            memo[(pk, sk)] = _Seen(copy.deepcopy(item), consistent)
        return item

    def get_many(
        self, keys: Sequence[tuple[str, str]], *, consistent: bool = True
    ) -> dict[tuple[str, str], Item]:
        """Several items in one round (BatchGetItem, 100 keys a request): found items by key,
        missing keys absent. The unit of work answers the keys it has seen and remembers the
        rest, as ``get`` does. Keys the service leaves unprocessed are asked for again (at most
        five rounds), then the read fails as throttled."""
        memo = self._memo()
        found: dict[tuple[str, str], Item] = {}
        wanted: list[tuple[str, str]] = []
        for k in dict.fromkeys(keys):  # once each, in order
            seen = memo.get(k) if memo is not None and not _FRESH.get() else None
            if seen is not None and (seen.consistent or not consistent):
                if seen.item is not None:
                    found[k] = copy.deepcopy(seen.item)
            else:
                wanted.append(k)
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            got = self._batch_get(chunk, consistent)
            for k in chunk:
                item = got.get(k)
                if item is not None:
                    found[k] = item
                if memo is not None:
                    memo[k] = _Seen(copy.deepcopy(item), consistent)
        return found

    def _batch_get(self, chunk: Sequence[tuple[str, str]], consistent: bool) -> dict[tuple[str, str], Item]:
        request: dict[str, Any] = {
            self.name: {"Keys": [self._codec.dump(self.key(*k)) for k in chunk], "ConsistentRead": consistent}
        }
        got: dict[tuple[str, str], Item] = {}
        for _ in range(5):
            with self._translate():
                self.request_count += 1
                out = self._client.batch_get_item(RequestItems=request)
            for raw in out.get("Responses", {}).get(self.name, []):
                item = self._codec.load(raw)
                got[self._item_key(item)] = item
            request = out.get("UnprocessedKeys") or {}
            if not request:
                return got
        raise DependencyUnavailableError("the database is busy; try again")

    def put(
        self,
        item: Item,
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": self._codec.dump(item)}
        kwargs.update(self._expressions(condition, names, values))
        with self._writing([self._item_key(item)]), self._translate():
            self.request_count += 1
            self._client.put_item(**kwargs)

    def put_new(self, item: Item) -> None:
        """Create: fails with ConditionFailed (carrying the existing item) if the key is taken."""
        self.put(item, condition="attribute_not_exists(#pk)", names={"#pk": contract.TABLE_PARTITION_KEY})

    def delete(
        self,
        pk: str,
        sk: str,
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": self._codec.dump(self.key(pk, sk))}
        kwargs.update(self._expressions(condition, names, values))
        with self._writing([(pk, sk)]), self._translate():
            self.request_count += 1
            self._client.delete_item(**kwargs)

    def update(
        self,
        pk: str,
        sk: str,
        *,
        update: str,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Item:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": self._codec.dump(self.key(pk, sk)),
            "UpdateExpression": update,
            "ReturnValues": "ALL_NEW",
        }
        kwargs.update(self._expressions(condition, names, values))
        with self._writing([(pk, sk)]) as memo, self._translate():
            self.request_count += 1
            out = self._client.update_item(**kwargs)
        item = self._codec.load(out["Attributes"])
        if memo is not None:  # ALL_NEW: the item as this write left it
            memo[(pk, sk)] = _Seen(copy.deepcopy(item), consistent=True)
        return item

    def patch(
        self, pk: str, sk: str, changes: Mapping[str, Any], *, expected_version: int | None, what: str
    ) -> Item:
        """A partial update of a versioned item: each change is set (``None`` removes it) and the
        version goes up by one. With ``expected_version``, refused if someone changed it since.
        Missing → NotFoundError; changed meanwhile → ConflictError with the current version."""
        names = {"#version": "version"}
        values: dict[str, Any] = {":one": 1}
        sets, removes = [], []
        for k, v in changes.items():
            names[f"#{k}"] = k
            if v is None:
                removes.append(f"#{k}")
            else:
                sets.append(f"#{k} = :{k}")
                values[f":{k}"] = v
        expression = ("SET " + ", ".join(sets) + " " if sets else "") + (
            "REMOVE " + ", ".join(removes) + " " if removes else ""
        )
        condition = "attribute_exists(PK)"
        if expected_version is not None:
            condition += " AND #version = :expected"
            values[":expected"] = expected_version
        try:
            return self.update(
                pk,
                sk,
                update=expression + "ADD #version :one",
                condition=condition,
                names=names,
                values=values,
            )
        except ConditionFailed as exc:
            if exc.current is None:
                raise NotFoundError(f"{what} not found") from exc
            raise ConflictError(
                f"the {what} was changed by someone else; reload and retry",
                current_version=exc.current.get("version"),
            ) from exc

    # -- many items -----------------------------------------------------------------------------
    # Long on purpose: one Query request with its key condition, index, order, page and cursor.
    def query(
        self,
        partition: str,
        *,
        prefix: str | None = None,
        index: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        forward: bool = True,
        from_sk: str | None = None,
        to_sk: str | None = None,
    ) -> Page:
        """One page. ``from_sk`` / ``to_sk`` (with ``prefix``): only sort keys from ``from_sk`` up
        to ``to_sk`` (both inclusive), within the prefix; the caller's ids must sort below ``~``
        (ours: lower-case base32)."""
        pk_name = contract.GSI1_PARTITION_KEY if index else contract.TABLE_PARTITION_KEY
        sk_name = contract.GSI1_SORT_KEY if index else contract.TABLE_SORT_KEY
        condition = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": partition}
        if prefix and (from_sk or to_sk):
            if not all(k.startswith(prefix) for k in (from_sk, to_sk) if k):
                raise ValueError("from_sk and to_sk must lie within the prefix")
            condition += " AND #sk BETWEEN :from AND :to"
            names["#sk"] = sk_name
            values[":from"], values[":to"] = from_sk or prefix, to_sk or prefix + "~"
        elif prefix:
            condition += " AND begins_with(#sk, :prefix)"
            names["#sk"] = sk_name
            values[":prefix"] = prefix
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": self._values(values),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        if limit:
            kwargs["Limit"] = limit
        start = decode_cursor(cursor, partition=partition, prefix=prefix, index=index)
        if start:
            kwargs["ExclusiveStartKey"] = self._codec.dump(start)
        with self._translate():
            self.request_count += 1
            out = self._client.query(**kwargs)
        items = [self._codec.load(raw) for raw in out.get("Items", [])]
        memo = self._memo()
        if memo is not None:  # never serve an older GetItem of an item a query has just shown
            for item in items:
                memo.pop(self._item_key(item), None)
        last = out.get("LastEvaluatedKey")
        return Page(items, encode_cursor(self._codec.load(last) if last else None))

    def query_all(
        self,
        partition: str,
        *,
        prefix: str | None = None,
        index: str | None = None,
        from_sk: str | None = None,
    ) -> list[Item]:
        items: list[Item] = []
        cursor: str | None = None
        while True:
            page = self.query(partition, prefix=prefix, index=index, cursor=cursor, from_sk=from_sk)
            items.extend(page.items)
            if not page.cursor:
                return items
            cursor = page.cursor

    def transact(self, writes: Sequence[Write], *, token: str | None = None) -> None:
        ops: list[dict[str, Any]] = []
        keys: list[tuple[str, str]] = []
        for w in writes:
            source = w.item if w.kind == "put" else w.key
            assert source is not None
            keys.append(self._item_key(source))
            op: dict[str, Any] = {"TableName": self.name, **self._expressions(w.condition, w.names, w.values)}
            if w.kind == "put":
                assert w.item is not None
                op["Item"] = self._codec.dump(w.item)
                ops.append({"Put": op})
            elif w.kind == "update":
                assert w.key is not None and w.update is not None
                op["Key"] = self._codec.dump(w.key)
                op["UpdateExpression"] = w.update
                ops.append({"Update": op})
            elif w.kind == "delete":
                assert w.key is not None
                op["Key"] = self._codec.dump(w.key)
                ops.append({"Delete": op})
            else:
                assert w.key is not None and w.kind == "check"
                op["Key"] = self._codec.dump(w.key)
                ops.append({"ConditionCheck": op})
        kwargs: dict[str, Any] = {"TransactItems": ops}
        if token:
            kwargs["ClientRequestToken"] = token
        with self._writing(keys), self._translate():
            self.request_count += 1
            self._client.transact_write_items(**kwargs)


_IMAGES: list[_Codec] = []


def load_image(raw: Mapping[str, Any]) -> Item:
    """An item in DynamoDB's attribute-value form (a stream record's image) as plain values."""
    if not _IMAGES:
        _IMAGES.append(_Codec())
    return _IMAGES[0].load(raw)


def put_new_write(item: Item) -> Write:
    return Write(
        kind="put",
        item=item,
        condition="attribute_not_exists(#pk)",
        names={"#pk": contract.TABLE_PARTITION_KEY},
    )
