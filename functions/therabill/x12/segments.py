"""A segment as read: its id, its elements (1-based, as the implementation guides number them),
and the delimiters to split an element into repetitions and components."""

from __future__ import annotations

from dataclasses import dataclass, field

from therabill.x12.delimiters import DEFAULT, Delimiters


@dataclass(frozen=True, slots=True, repr=False)
class Segment:
    """Its repr names the id, position and element count only: an element may be health
    information, and a repr ends up in logs and error messages."""

    id: str
    elements: tuple[str, ...]
    position: int = 0
    delimiters: Delimiters = field(default=DEFAULT, repr=False, compare=False)

    def get(self, index: int) -> str:
        """Element `index` (1-based: NM1-03 is get(3)); "" when absent."""
        if index < 1:
            raise IndexError("elements are numbered from 1")
        return self.elements[index - 1] if index <= len(self.elements) else ""

    def components(self, index: int) -> tuple[str, ...]:
        """Element `index` split into its components (a composite such as SV1-01 HC:90834)."""
        value = self.get(index)
        return tuple(value.split(self.delimiters.component)) if value else ()

    def repetitions(self, index: int) -> tuple[str, ...]:
        """Element `index` split into its repetitions (a repeating element such as EB03)."""
        value = self.get(index)
        if not value:
            return ()
        separator = self.delimiters.repetition
        return tuple(value.split(separator)) if separator else (value,)

    def composite_repetitions(self, index: int) -> tuple[tuple[str, ...], ...]:
        """Each repetition of element `index`, split into components."""
        return tuple(tuple(rep.split(self.delimiters.component)) for rep in self.repetitions(index))

    def __repr__(self) -> str:
        return f"Segment({self.id} at {self.position}, {len(self.elements)} elements)"

    @property
    def label(self) -> str:
        """The segment's id and position, safe to log (no values)."""
        return f"{self.id} at segment {self.position}"
