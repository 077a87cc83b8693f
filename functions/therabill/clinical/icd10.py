"""ICD-10-CM diagnosis codes: shape, normal form and a claim's list of them. Pure.

A code is a letter, a digit, a letter or digit, then optionally a dot and 1 to 4 letters or digits
(``F41.1``, ``F32.A``, ``S72.001A``). The normal form is upper case with the dot after the third
character (``f411`` → ``F41.1``). A claim (the 837P) carries at most 12, in pointer order: the
first is the primary diagnosis.

Codes are health information: error messages name the position of a bad code, never the code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_CODES = 12  # the 837P's diagnosis pointers
_SHAPE = re.compile(r"^[A-Z][0-9][A-Z0-9](?:\.?[A-Z0-9]{1,4})?$")
SHAPE_TEXT = "a letter, a digit, a letter or digit, then optionally '.' and 1 to 4 letters or digits"


class CodeError(ValueError):
    """A list of codes that cannot be stored (the message never contains a code)."""


def normalise(code: str) -> str:
    """One code in its normal form; ValueError if it is not an ICD-10-CM shape."""
    text = code.strip().upper()
    if not _SHAPE.match(text):
        raise ValueError(f"not an ICD-10-CM code ({SHAPE_TEXT})")
    head, tail = text[:3], text[3:].lstrip(".")
    return f"{head}.{tail}" if tail else head


def normalise_codes(codes: Sequence[str]) -> tuple[str, ...]:
    """A list in pointer order (primary first): each normalised, at most 12, no duplicates (after
    normalising). An empty list is allowed (it clears). Raises CodeError."""
    if len(codes) > MAX_CODES:
        raise CodeError(f"at most {MAX_CODES} diagnosis codes (the claim's limit), {len(codes)} given")
    out: list[str] = []
    for n, code in enumerate(codes):
        try:
            normal = normalise(code)
        except ValueError as exc:
            raise CodeError(f"codes[{n}] is {exc}") from exc
        if normal in out:
            raise CodeError(f"codes[{n}] repeats codes[{out.index(normal)}]")
        out.append(normal)
    return tuple(out)
