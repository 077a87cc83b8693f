"""Segments and envelopes out: chosen delimiters, the ISA's fixed widths, the trailers' counts and
control numbers from a caller-supplied source (the `ControlNumbers` port)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from therabill.x12.delimiters import DEFAULT, Delimiters
from therabill.x12.envelope import FUNCTIONAL_IDS
from therabill.x12.errors import X12ValueError

_MAX_CONTROL = 999_999_999


@dataclass(frozen=True, slots=True)
class Composite:
    """An element made of components (SV1-01 HC:90834): written with the component separator."""

    components: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Repeated:
    """A repeating element (EB03 30^MH): written with the repetition separator."""

    values: tuple[str | Composite, ...]


ElementValue = str | Composite | Repeated


@dataclass(frozen=True, slots=True)
class Built:
    """A segment to write: its id and its elements from 01 on."""

    id: str
    elements: tuple[ElementValue, ...]


def seg(segment_id: str, *elements: ElementValue) -> Built:
    return Built(segment_id, elements)


class ControlNumberKind(StrEnum):
    INTERCHANGE = "interchange"  # ISA13 / IEA02
    GROUP = "group"  # GS06 / GE02
    TRANSACTION = "transaction"  # ST02 / SE02


class ControlNumbers(Protocol):
    """The source of control numbers (per practice and kind, each number handed out once)."""

    def next(self, kind: ControlNumberKind) -> int: ...


class SequentialControlNumbers:
    """Control numbers counted in memory from 1: for tests and one-off documents."""

    def __init__(self) -> None:
        self._last = dict.fromkeys(ControlNumberKind, 0)

    def next(self, kind: ControlNumberKind) -> int:
        self._last[kind] += 1
        return self._last[kind]


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange sender or receiver: ISA05/ISA07 qualifier (e.g. ZZ) and ISA06/ISA08 id."""

    qualifier: str
    id: str


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: Party
    receiver: Party
    application_sender: str  # GS02
    application_receiver: str  # GS03
    usage: Literal["P", "T"] = "P"
    acknowledgment_requested: bool = False


@dataclass(frozen=True, slots=True)
class Transaction:
    code: str  # ST01, e.g. 270
    version: str  # ST03 and GS08, e.g. 005010X279A1
    body: tuple[Built, ...]  # the segments between ST and SE


def render_element(value: ElementValue, delimiters: Delimiters, where: tuple[str, int]) -> str:
    if isinstance(value, str):
        _check(value, delimiters, where)
        return value
    if isinstance(value, Composite):
        for component in value.components:
            _check(component, delimiters, where)
        return delimiters.component.join(value.components).rstrip(delimiters.component)
    if delimiters.repetition is None:
        raise X12ValueError("no repetition separator to write a repeating element", segment_id=where[0])
    parts = [render_element(item, delimiters, where) for item in value.values]
    return delimiters.repetition.join(parts)


def _check(value: str, delimiters: Delimiters, where: tuple[str, int]) -> None:
    if any(char in delimiters.all or not char.isprintable() for char in value):
        raise X12ValueError(
            f"element {where[1]} of {where[0]} holds a delimiter or a control character",
            segment_id=where[0],
            element=where[1],
        )


def render_segment(built: Built, delimiters: Delimiters = DEFAULT) -> str:
    """One segment with its terminator; trailing empty elements are left out, as X12 requires."""
    rendered = [
        render_element(value, delimiters, (built.id, index))
        for index, value in enumerate(built.elements, start=1)
    ]
    while rendered and not rendered[-1]:
        rendered.pop()
    return delimiters.element.join([built.id, *rendered]) + delimiters.segment


def _fixed(value: str, width: int, where: tuple[str, int]) -> str:
    if len(value) > width:
        raise X12ValueError(f"ISA{where[1]:02d} is longer than {width}", segment_id="ISA", element=where[1])
    return value.ljust(width)


def _control_number(numbers: ControlNumbers, kind: ControlNumberKind) -> int:
    number = numbers.next(kind)
    if not 1 <= number <= _MAX_CONTROL:
        raise X12ValueError(f"the {kind.value} control number is out of range", segment_id="")
    return number


def render_isa(envelope: Envelope, control: int, created_at: datetime, delimiters: Delimiters) -> str:
    """The ISA, 106 characters with its terminator: every element padded to its fixed width; ISA11
    and ISA16 are the repetition and component separators themselves."""
    if delimiters.repetition is None:
        raise X12ValueError("5010 needs a repetition separator", segment_id="ISA", element=11)
    fields: tuple[tuple[str | None, int], ...] = (
        ("00", 2),
        ("", 10),
        ("00", 2),
        ("", 10),
        (envelope.sender.qualifier, 2),
        (envelope.sender.id, 15),
        (envelope.receiver.qualifier, 2),
        (envelope.receiver.id, 15),
        (created_at.strftime("%y%m%d"), 6),
        (created_at.strftime("%H%M"), 4),
        (None, 1),
        ("00501", 5),
        (f"{control:09d}", 9),
        ("1" if envelope.acknowledgment_requested else "0", 1),
        (envelope.usage, 1),
    )
    padded = []
    for index, (value, width) in enumerate(fields, start=1):
        if value is None:
            padded.append(delimiters.repetition)
            continue
        _check(value, delimiters, ("ISA", index))
        padded.append(_fixed(value, width, ("ISA", index)))
    return delimiters.element.join(["ISA", *padded, delimiters.component]) + delimiters.segment


def write_interchange(
    envelope: Envelope,
    transactions: Sequence[Transaction],
    *,
    created_at: datetime,
    numbers: ControlNumbers,
    delimiters: Delimiters = DEFAULT,
    line_breaks: bool = False,
) -> bytes:
    """One interchange; consecutive transactions of the same kind and version share a group."""
    if not transactions:
        raise X12ValueError("an interchange needs at least one transaction set", segment_id="ST")
    isa_number = _control_number(numbers, ControlNumberKind.INTERCHANGE)
    out = [render_isa(envelope, isa_number, created_at, delimiters)]
    groups = _groups(transactions)
    for batch in groups:
        out.extend(_group(envelope, batch, created_at, numbers, delimiters))
    out.append(render_segment(seg("IEA", str(len(groups)), f"{isa_number:09d}"), delimiters))
    return ("\n" if line_breaks else "").join(out).encode("utf-8") + (b"\n" if line_breaks else b"")


def _groups(transactions: Sequence[Transaction]) -> list[list[Transaction]]:
    groups: list[list[Transaction]] = []
    for transaction in transactions:
        if groups and (groups[-1][0].code, groups[-1][0].version) == (transaction.code, transaction.version):
            groups[-1].append(transaction)
        else:
            groups.append([transaction])
    return groups


def _group(
    envelope: Envelope,
    batch: list[Transaction],
    created_at: datetime,
    numbers: ControlNumbers,
    delimiters: Delimiters,
) -> list[str]:
    first = batch[0]
    functional_id = FUNCTIONAL_IDS.get(first.code)
    if functional_id is None:
        raise X12ValueError("no functional identifier for this transaction set", segment_id="GS", element=1)
    number = _control_number(numbers, ControlNumberKind.GROUP)
    gs = seg(
        "GS",
        functional_id,
        envelope.application_sender,
        envelope.application_receiver,
        created_at.strftime("%Y%m%d"),
        created_at.strftime("%H%M"),
        str(number),
        "X",
        first.version,
    )
    out = [render_segment(gs, delimiters)]
    for transaction in batch:
        out.extend(render_transaction(transaction, numbers, delimiters))
    out.append(render_segment(seg("GE", str(len(batch)), str(number)), delimiters))
    return out


def render_transaction(
    transaction: Transaction, numbers: ControlNumbers, delimiters: Delimiters
) -> list[str]:
    """ST, the body and SE (SE01 counts ST and SE themselves)."""
    control = f"{_control_number(numbers, ControlNumberKind.TRANSACTION):04d}"
    out = [render_segment(seg("ST", transaction.code, control, transaction.version), delimiters)]
    out.extend(render_segment(built, delimiters) for built in transaction.body)
    out.append(render_segment(seg("SE", str(len(transaction.body) + 2), control), delimiters))
    return out
