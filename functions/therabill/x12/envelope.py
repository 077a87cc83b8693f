"""Segments into interchanges (ISA/IEA), functional groups (GS/GE) and transaction sets (ST/SE),
checking each trailer's count and control number against what was read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from therabill.x12.delimiters import Delimiters
from therabill.x12.problems import Problem, ProblemKind, Severity
from therabill.x12.segments import Segment

# GS01 for each transaction set code (ST01) the product reads or writes.
FUNCTIONAL_IDS = {
    "270": "HS",
    "271": "HB",
    "276": "HR",
    "277": "HN",
    "835": "HP",
    "837": "HC",
    "999": "FA",
    "997": "FA",
}


@dataclass(frozen=True, slots=True)
class TransactionSet:
    header: Segment
    body: tuple[Segment, ...]
    trailer: Segment | None

    @property
    def code(self) -> str:
        return self.header.get(1)

    @property
    def control_number(self) -> str:
        return self.header.get(2)

    @property
    def version(self) -> str:
        return self.header.get(3)


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    header: Segment
    transactions: tuple[TransactionSet, ...]
    trailer: Segment | None

    @property
    def functional_id(self) -> str:
        return self.header.get(1)

    @property
    def control_number(self) -> str:
        return self.header.get(6)

    @property
    def version(self) -> str:
        return self.header.get(8)


@dataclass(frozen=True, slots=True)
class Interchange:
    header: Segment
    groups: tuple[FunctionalGroup, ...]
    trailer: Segment | None

    @property
    def control_number(self) -> str:
        return self.header.get(13)

    @property
    def usage(self) -> str:
        """P (production) or T (test)."""
        return self.header.get(15)


@dataclass(frozen=True, slots=True)
class Document:
    delimiters: Delimiters
    segments: tuple[Segment, ...]
    interchanges: tuple[Interchange, ...]
    problems: tuple[Problem, ...]

    def transactions(self, code: str | None = None) -> Iterator[TransactionSet]:
        for interchange in self.interchanges:
            for group_ in interchange.groups:
                yield from (t for t in group_.transactions if code is None or t.code == code)

    @property
    def fatal(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.severity is Severity.FATAL)


@dataclass
class _Open:
    """An envelope being read: its header and what it holds so far."""

    header: Segment
    items: list[object] = field(default_factory=list)


def _same(left: str, right: str) -> bool:
    left, right = left.strip(), right.strip()
    if left.isdigit() and right.isdigit():
        return int(left) == int(right)
    return left == right


def _count(trailer: Segment, counted: int, kind: ProblemKind, what: str) -> list[Problem]:
    stated = trailer.get(1).strip()
    if not stated.isdigit():
        return [Problem(ProblemKind.BAD_VALUE, trailer.position, trailer.id, "not a count", 1)]
    if int(stated) != counted:
        detail = f"{trailer.id}01 does not match the {counted} {what} counted"
        return [Problem(kind, trailer.position, trailer.id, detail, 1)]
    return []


def _control(trailer: Segment, header: Segment, header_element: int) -> list[Problem]:
    if _same(trailer.get(2), header.get(header_element)):
        return []
    detail = f"{trailer.id}02 does not match {header.id}{header_element:02d} (segment {header.position})"
    return [Problem(ProblemKind.CONTROL_NUMBER_MISMATCH, trailer.position, trailer.id, detail, 2)]


class _Grouper:
    """One pass over the segments; at most one interchange, group and transaction open at once."""

    def __init__(self) -> None:
        self.interchanges: list[Interchange] = []
        self.problems: list[Problem] = []
        self.isa: _Open | None = None
        self.gs: _Open | None = None
        self.st: _Open | None = None
        self.handlers = {
            "ISA": self._isa,
            "GS": self._gs,
            "ST": self._st,
            "SE": self._se,
            "GE": self._ge,
            "IEA": self._iea,
        }

    def feed(self, segment: Segment) -> None:
        self.handlers.get(segment.id, self._other)(segment)

    def finish(self) -> None:
        end = Segment("", (), 0)
        self._close_st(None, end)
        self._close_gs(None, end)
        self._close_isa(None, end)

    def _missing(self, opened: _Open, trailer_id: str, at: Segment) -> None:
        detail = f"{opened.header.id} at segment {opened.header.position} has no {trailer_id}"
        self.problems.append(Problem(ProblemKind.MISSING_TRAILER, at.position, at.id, detail))

    def _unexpected(self, segment: Segment) -> None:
        detail = f"{segment.id} without an open envelope to close"
        self.problems.append(Problem(ProblemKind.UNEXPECTED_TRAILER, segment.position, segment.id, detail))

    def _isa(self, segment: Segment) -> None:
        self._close_st(None, segment)
        self._close_gs(None, segment)
        self._close_isa(None, segment)
        self.isa = _Open(segment)

    def _gs(self, segment: Segment) -> None:
        self._close_st(None, segment)
        self._close_gs(None, segment)
        if self.isa is None:
            self._outside(segment)
        self.gs = _Open(segment)

    def _st(self, segment: Segment) -> None:
        self._close_st(None, segment)
        if self.gs is None:
            self._outside(segment)
        elif FUNCTIONAL_IDS.get(segment.get(1), self.gs.header.get(1)) != self.gs.header.get(1):
            detail = "GS01 is not the functional identifier of this transaction set"
            self.problems.append(Problem(ProblemKind.FUNCTIONAL_ID, segment.position, "ST", detail, 1))
        self.st = _Open(segment)

    def _se(self, segment: Segment) -> None:
        if self.st is None:
            self._unexpected(segment)
        else:
            self._close_st(segment, segment)

    def _ge(self, segment: Segment) -> None:
        self._close_st(None, segment)
        if self.gs is None:
            self._unexpected(segment)
        else:
            self._close_gs(segment, segment)

    def _iea(self, segment: Segment) -> None:
        self._close_st(None, segment)
        self._close_gs(None, segment)
        if self.isa is None:
            self._unexpected(segment)
        else:
            self._close_isa(segment, segment)

    def _other(self, segment: Segment) -> None:
        if self.st is None:
            self._outside(segment)
        else:
            self.st.items.append(segment)

    def _outside(self, segment: Segment) -> None:
        detail = "a segment outside any transaction set"
        if segment.id in ("GS", "ST"):
            detail = f"{segment.id} outside an enclosing {'ISA' if segment.id == 'GS' else 'GS'}"
        self.problems.append(
            Problem(ProblemKind.SEGMENT_OUTSIDE_ENVELOPE, segment.position, segment.id, detail)
        )

    def _close_st(self, trailer: Segment | None, at: Segment) -> None:
        if self.st is None:
            return
        body = tuple(item for item in self.st.items if isinstance(item, Segment))
        if trailer is None:
            self._missing(self.st, "SE", at)
        else:
            self.problems.extend(_count(trailer, len(body) + 2, ProblemKind.SEGMENT_COUNT, "segments"))
            self.problems.extend(_control(trailer, self.st.header, 2))
        transaction = TransactionSet(self.st.header, body, trailer)
        if self.gs is not None:
            self.gs.items.append(transaction)
        self.st = None

    def _close_gs(self, trailer: Segment | None, at: Segment) -> None:
        if self.gs is None:
            return
        transactions = tuple(item for item in self.gs.items if isinstance(item, TransactionSet))
        if trailer is None:
            self._missing(self.gs, "GE", at)
        else:
            kind = ProblemKind.TRANSACTION_COUNT
            self.problems.extend(_count(trailer, len(transactions), kind, "transaction sets"))
            self.problems.extend(_control(trailer, self.gs.header, 6))
        functional_group = FunctionalGroup(self.gs.header, transactions, trailer)
        if self.isa is not None:
            self.isa.items.append(functional_group)
        self.gs = None

    def _close_isa(self, trailer: Segment | None, at: Segment) -> None:
        if self.isa is None:
            return
        groups = tuple(item for item in self.isa.items if isinstance(item, FunctionalGroup))
        if trailer is None:
            self._missing(self.isa, "IEA", at)
        else:
            self.problems.extend(_count(trailer, len(groups), ProblemKind.GROUP_COUNT, "functional groups"))
            self.problems.extend(_control(trailer, self.isa.header, 13))
        self.interchanges.append(Interchange(self.isa.header, groups, trailer))
        self.isa = None


def group(segments: tuple[Segment, ...]) -> tuple[tuple[Interchange, ...], tuple[Problem, ...]]:
    grouper = _Grouper()
    for segment in segments:
        grouper.feed(segment)
    grouper.finish()
    return tuple(grouper.interchanges), tuple(grouper.problems)
