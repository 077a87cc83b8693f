"""A defect found while reading: where (segment position, segment id, element index) and what, in
fixed words. Never the value of a data element."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    # The content cannot be trusted as read (e.g. a composite written with an undeclared separator).
    FATAL = "fatal"
    # The envelope or syntax is wrong (a count, a control number), the content is still readable.
    ERROR = "error"
    # Allowed by lenient readers but not by the standard (an ISA that is not fixed width).
    WARNING = "warning"


class ProblemKind(StrEnum):
    NOT_UTF8 = "not_utf8"
    ISA_WIDTH = "isa_width"
    BAD_SEGMENT_ID = "bad_segment_id"
    UNDECLARED_SEPARATOR = "undeclared_separator"
    SEGMENT_OUTSIDE_ENVELOPE = "segment_outside_envelope"
    MISSING_TRAILER = "missing_trailer"
    UNEXPECTED_TRAILER = "unexpected_trailer"
    SEGMENT_COUNT = "segment_count"
    GROUP_COUNT = "group_count"
    TRANSACTION_COUNT = "transaction_count"
    CONTROL_NUMBER_MISMATCH = "control_number_mismatch"
    FUNCTIONAL_ID = "functional_id"
    BAD_VALUE = "bad_value"


SEVERITY: dict[ProblemKind, Severity] = {
    ProblemKind.NOT_UTF8: Severity.WARNING,
    ProblemKind.ISA_WIDTH: Severity.WARNING,
    ProblemKind.BAD_SEGMENT_ID: Severity.ERROR,
    ProblemKind.UNDECLARED_SEPARATOR: Severity.FATAL,
    ProblemKind.SEGMENT_OUTSIDE_ENVELOPE: Severity.ERROR,
    ProblemKind.MISSING_TRAILER: Severity.ERROR,
    ProblemKind.UNEXPECTED_TRAILER: Severity.ERROR,
    ProblemKind.SEGMENT_COUNT: Severity.ERROR,
    ProblemKind.GROUP_COUNT: Severity.ERROR,
    ProblemKind.TRANSACTION_COUNT: Severity.ERROR,
    ProblemKind.CONTROL_NUMBER_MISMATCH: Severity.ERROR,
    ProblemKind.FUNCTIONAL_ID: Severity.WARNING,
    ProblemKind.BAD_VALUE: Severity.ERROR,
}


@dataclass(frozen=True, slots=True)
class Problem:
    """`position` is the segment's 1-based ordinal in the input (0: the input as a whole);
    `element` the 1-based element index, when one element is at fault. `detail` is fixed wording
    (and counts the reader computed itself), safe to log."""

    kind: ProblemKind
    position: int
    segment_id: str
    detail: str
    element: int | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "severity": self.severity.value,
            "position": self.position,
            "segment_id": self.segment_id,
            "element": self.element,
            "detail": self.detail,
        }
