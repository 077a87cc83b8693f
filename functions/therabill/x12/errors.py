"""The x12 package's errors. They name a segment's position and an element's index, never a value:
an element may hold health information (a member id, a name, a date of birth)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from therabill.core.errors import InvalidRequestError

if TYPE_CHECKING:
    from therabill.x12.problems import Problem


class X12ValueError(InvalidRequestError):
    """A value the writer cannot put into a segment (it holds a delimiter, or is too long)."""

    def __init__(self, message: str, *, segment_id: str, element: int | None = None) -> None:
        super().__init__(message, segment_id=segment_id, element=element)
        self.segment_id = segment_id
        self.element = element


class X12UnreadableError(InvalidRequestError):
    """Input that cannot be read safely: no interchange header, or one whose content would be
    mis-read (composites or repetitions written with a character the header does not declare)."""

    def __init__(self, message: str, *, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message, problems=[problem.as_dict() for problem in problems])
        self.problems = problems
