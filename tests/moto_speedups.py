"""moto, made cheaper where it repeats work whose answer cannot change; its answers stay the same.

moto serves every AWS request of the unit and integration tiers in process, and most of an
integration test's time is spent in it. Installed once per test process by tests/conftest.py,
before any test runs. Each replacement reads moto's internals as they are in the version the lock
file pins (``CHECKED``); with another version none is installed (the tests run as before, only
slower, and say so) until each has been checked against it again."""

from __future__ import annotations

import copy
import functools
import threading
import warnings
from typing import Any

import moto
from moto.core import responses, serialize
from moto.core.utils import MISSING, get_value
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table

# What each replacement replaced, by name (tests/unit/test_moto_speedups.py compares them).
ORIGINALS: dict[str, Any] = {}


def one_lookup_list_per_member() -> None:
    """moto serializes every response member by member, and for each member of each plain dict
    (a DynamoDB item's attributes: every type of every attribute) it builds six alias providers
    and asks each which keys might hold the value: a fifth of an integration test's time. For a
    plain dict the list of keys depends only on the member's name, its shape and the shape's
    parent (a dict has no ``Meta`` and its class name is always ``dict``), so it is worked out
    once per member and kept; the keys are tried in the same order as before. Anything else (an
    object, a dict subclass, a picker with response transformers) takes moto's own path."""
    real = ORIGINALS["get_value"] = serialize.ResponseSerializer.get_value
    keys_of: dict[tuple[str, Any, Any], tuple[str, ...]] = {}

    def get_value_for_member(self: Any, value: Any, key: str, shape: Any) -> Any:
        picker = self._value_picker
        if (
            type(value) is not dict
            or type(picker) is not serialize.XFormedAttributePicker
            or picker.response_transformers
            or picker.alias_providers is not serialize.DEFAULT_ALIAS_PROVIDERS
        ):
            return real(self, value, key, shape)
        cache_key = (key, shape, getattr(shape, "parent", None))
        keys = keys_of.get(cache_key)
        if keys is None:
            context = serialize.AttributePickerContext(obj=value, key=key, shape=shape)
            keys = keys_of[cache_key] = tuple(picker.get_possible_keys(context))
        for possible in keys:
            # moto's get_value reads a plain dict's key with obj[key] (a KeyError: not there);
            # a dotted key is a path, left to it
            found = get_value(value, possible, MISSING) if "." in possible else value.get(possible, MISSING)
            if found is not MISSING:
                return found
        return None

    serialize.ResponseSerializer.get_value = get_value_for_member  # type: ignore[method-assign]


def one_method_list_per_class() -> None:
    """moto lists a response class's methods (``inspect.getmembers``) on every request to find the
    action's; a class's methods do not change, so the list is made once per class."""
    ORIGINALS["method_names_from_class"] = responses.method_names_from_class  # type: ignore[attr-defined]
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)  # type: ignore[attr-defined]


def items_sorted_by_plain_keys() -> None:
    """moto sorts the whole table on every query (``Table.all_items``) by its items' keys, and
    each comparison of two keys converts both (``DynamoType.cast_value``). A table's key
    attributes hold one type each (moto refuses another on write), so sorting by the converted
    values gives the same order, each key converted once. The rest is moto's own."""

    def sort_key(item: Any) -> Any:
        if item.range_key:
            return (item.hash_key.cast_value, item.range_key.cast_value)
        return item.hash_key.cast_value

    def all_items(self: Any) -> list[Any]:
        items: list[Any] = []
        for hash_set in self.items.values():
            if self.range_key_attr:
                items.extend(hash_set.values())
            else:
                items.append(hash_set)
        return sorted(items, key=sort_key)

    ORIGINALS["all_items"] = Table.all_items
    Table.all_items = all_items  # type: ignore[method-assign]


class _CopyOncePerTransaction:
    """Stands for the ``copy`` module in moto's DynamoDB backend: inside a TransactWriteItems
    (``copies`` set, per thread), a table is deep-copied once and the copy handed out again."""

    def __init__(self) -> None:
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        copies = getattr(self.local, "copies", None)
        if copies is None or memo is not None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = (value, copy.deepcopy(value))  # the table kept: its id stays its own
        return copies[id(value)][1]


def one_table_copy_per_transaction() -> None:
    """For a TransactWriteItems moto backs up each table it touches (restored if the transaction is
    cancelled) with a deep copy of the whole table, made again for each item of the transaction
    before any item is applied (the same table, unchanged; the last copy is kept). One copy per
    table and transaction is the same backup."""
    shim = _CopyOncePerTransaction()
    dynamodb_models.copy = shim  # type: ignore[attr-defined]
    real = ORIGINALS["transact_write_items"] = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        shim.local.copies = {}
        try:
            return real(self, transact_items)
        finally:
            shim.local.copies = None

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


CHECKED = "5.2.5"


def install() -> None:
    if moto.__version__ != CHECKED:
        warnings.warn(
            f"tests/moto_speedups.py was checked against moto {CHECKED}, not {moto.__version__}: "
            "moto runs unchanged (slower) until each replacement is checked again",
            stacklevel=2,
        )
        return
    one_lookup_list_per_member()
    one_method_list_per_class()
    items_sorted_by_plain_keys()
    one_table_copy_per_transaction()
