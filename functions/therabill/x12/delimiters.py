"""The four delimiters of an interchange, as its ISA declares them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Element (ISA byte 3), repetition (ISA11), component (ISA16) and segment terminator (the
    character after ISA16). Each one character, all distinct, none a letter, digit or space.
    `repetition` is None only in what is read from a version before 5010 (ISA11 was a code)."""

    element: str = "*"
    repetition: str | None = "^"
    component: str = ":"
    segment: str = "~"

    def __post_init__(self) -> None:
        chars = tuple(char for char in self.all_in_order if char is not None)
        if any(len(char) != 1 or char.isalnum() or char == " " for char in chars):
            raise ValueError("each delimiter must be one character, not a letter, digit or space")
        if len(set(chars)) != len(chars):
            raise ValueError("the four delimiters must be distinct")

    @property
    def all_in_order(self) -> tuple[str | None, ...]:
        return (self.element, self.repetition, self.component, self.segment)

    @property
    def all(self) -> frozenset[str]:
        return frozenset(char for char in self.all_in_order if char is not None)


DEFAULT = Delimiters()
