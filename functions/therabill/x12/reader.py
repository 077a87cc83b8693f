"""Bytes to segments: the delimiters from the ISA, then one segment per terminator.

Copes with a UTF-8 byte-order mark, CRLF / LF / no line breaks at all, indentation and blank
lines between segments, and a newline used as the segment terminator. Reports (never raises on)
defects it can read past; raises `X12UnreadableError` only when there is no ISA to read from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from therabill.x12.delimiters import Delimiters
from therabill.x12.envelope import Document, group
from therabill.x12.errors import X12UnreadableError
from therabill.x12.problems import Problem, ProblemKind
from therabill.x12.segments import Segment

_BOM = b"\xef\xbb\xbf"
# ISA01..ISA16 fixed widths; the whole ISA is 106 characters with its terminator.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
# Characters senders use as separators: one of these between codes, when the header does not
# declare it, means composites or repetitions were written with the wrong character.
_SEPARATOR_LIKE = ":>|^<!\\~`{}"


@dataclass(frozen=True, slots=True)
class Lexed:
    delimiters: Delimiters
    segments: tuple[Segment, ...]
    problems: tuple[Problem, ...]


def read(data: bytes) -> Document:
    """Read an input of one or more interchanges: segments, envelopes and every problem found."""
    lexed = lex(data)
    interchanges, envelope_problems = group(lexed.segments)
    return Document(
        delimiters=lexed.delimiters,
        segments=lexed.segments,
        interchanges=interchanges,
        problems=lexed.problems + envelope_problems,
    )


def lex(data: bytes) -> Lexed:
    text, problems = _decode(data)
    text = text.lstrip()
    delimiters, isa_problems = _delimiters(text)
    problems.extend(isa_problems)
    if delimiters.segment == "\n":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    foreign = _foreign_separator(delimiters)
    segments: list[Segment] = []
    for raw in text.split(delimiters.segment):
        stripped = raw.strip()
        if not stripped:
            continue  # a blank line, or the end of the input
        parts = stripped.split(delimiters.element)
        segment = Segment(parts[0], tuple(parts[1:]), len(segments) + 1, delimiters)
        segments.append(segment)
        problems.extend(_segment_problems(segment, foreign))
    return Lexed(delimiters, tuple(segments), tuple(problems))


def _decode(data: bytes) -> tuple[str, list[Problem]]:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        # Some senders write Latin-1; every byte maps to one character, so positions hold.
        detail = "the input is not UTF-8; read as Latin-1"
        return data.decode("latin-1"), [Problem(ProblemKind.NOT_UTF8, 0, "", detail)]


def _delimiters(text: str) -> tuple[Delimiters, list[Problem]]:
    if not text.startswith("ISA") or len(text) < 4:
        raise X12UnreadableError("the input does not start with an ISA interchange header")
    element = text[3]
    if element.isalnum() or element.isspace():
        raise X12UnreadableError("the ISA's element separator (its fourth character) is not usable")
    end = 3
    for _ in range(15):  # the separators before ISA02 .. ISA16
        end = text.find(element, end + 1)
        if end < 0:
            raise X12UnreadableError("the ISA has fewer than 16 elements")
    if len(text) < end + 3:
        raise X12UnreadableError("the ISA ends before its component separator and terminator")
    fields = text[4:end].split(element)
    component, terminator = text[end + 1], text[end + 2]
    if terminator == "\r":
        terminator = "\n"
    # ISA11 is the repetition separator from 5010 on (before: a standards code, "U"); some 5010
    # senders still write "U", in which case nothing repeats.
    repetition: str | None = fields[10]
    if fields[11] < "00501" or len(fields[10]) != 1 or fields[10].isalnum() or fields[10].isspace():
        repetition = None
    try:
        delimiters = Delimiters(element, repetition, component, terminator)
    except ValueError as error:
        raise X12UnreadableError(f"the ISA's delimiters are not usable: {error}") from None
    return delimiters, _isa_width_problems([*fields, component])


def _isa_width_problems(fields: list[str]) -> list[Problem]:
    problems = [
        Problem(ProblemKind.ISA_WIDTH, 1, "ISA", f"ISA{index:02d} is not {width} characters wide", index)
        for index, (value, width) in enumerate(zip(fields, ISA_WIDTHS, strict=False), start=1)
        if len(value) != width
    ]
    if len(fields) != len(ISA_WIDTHS):
        problems.append(Problem(ProblemKind.ISA_WIDTH, 1, "ISA", "the ISA does not have 16 elements"))
    return problems


def _foreign_separator(delimiters: Delimiters) -> re.Pattern[str]:
    undeclared = "".join(char for char in _SEPARATOR_LIKE if char not in delimiters.all)
    chars = re.escape(undeclared)
    return re.compile(rf"[A-Za-z0-9]{{1,15}}(?:([{chars}])[A-Za-z0-9]{{0,15}})+")


def _segment_problems(segment: Segment, foreign: re.Pattern[str]) -> list[Problem]:
    if not _SEGMENT_ID.fullmatch(segment.id):
        return [Problem(ProblemKind.BAD_SEGMENT_ID, segment.position, "", "not a segment identifier")]
    if segment.id == "ISA":
        return []
    problems = []
    for index, value in enumerate(segment.elements, start=1):
        match = foreign.fullmatch(value)
        if match:
            detail = (
                f"the element is split by {match.group(1)!r}, which the interchange header "
                "declares as neither the component nor the repetition separator"
            )
            problems.append(
                Problem(ProblemKind.UNDECLARED_SEPARATOR, segment.position, segment.id, detail, index)
            )
    return problems
