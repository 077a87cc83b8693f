"""The per-practice X12 control numbers: one atomic counter per kind (`UpdateItem ADD`), so two
interchanges written at once never share a number.

ISA13 and GS06 are at most 9 digits (ST02 is written with the same width), so the number handed
out is the counter taken modulo 999,999,999 (1 .. 999,999,999, then 1 again): the wrap needs no
second write and no condition, and numbers repeat only after a billion interchanges."""

from __future__ import annotations

from therabill.adapters.dynamo import Table
from therabill.core import keys
from therabill.x12.writer import ControlNumberKind

MAX_CONTROL_NUMBER = 999_999_999


def wrapped(counter: int) -> int:
    """The control number for the counter's value (1-based, wrapping after the X12 maximum)."""
    return (counter - 1) % MAX_CONTROL_NUMBER + 1


class X12CounterStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def next(self, practice_id: str, kind: ControlNumberKind) -> int:
        item = self._table.update(
            keys.practice_pk(practice_id),
            keys.x12_counter_sk(kind.value),
            update="SET #t = :t ADD #last :one",
            names={"#t": "type", "#last": "last"},
            values={":t": "x12_counter", ":one": 1},
        )
        return wrapped(int(item["last"]))


class PracticeControlNumbers:
    """The x12 writer's `ControlNumbers` port for one practice."""

    def __init__(self, store: X12CounterStore, practice_id: str) -> None:
        self._store = store
        self._practice_id = practice_id

    def next(self, kind: ControlNumberKind) -> int:
        return self._store.next(self._practice_id, kind)
