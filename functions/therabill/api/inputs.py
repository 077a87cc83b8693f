"""The shapes of the values a request body carries, declared once and refused in words (the error
body names the field and says what it expected; never a pattern).

- money: ``MinorUnits`` / ``PositiveMinorUnits`` (``therabill.core.money``: the domain's own
  bodies, the cancellation policy's fees and the booking deposit, use them too);
- ``Whole``: a JSON integer (not ``"12"``, ``12.0`` or ``true``); ``Flag``: ``true`` or ``false``;
- ``Instant``: an ISO-8601 date and time with an offset (not a number of seconds); ``Day``: an
  ISO-8601 date;
- ``Text``: free text on one line, no control characters; ``Memo``: the same, with tabs and line
  breaks allowed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from therabill.core.money import MinorUnits, PositiveMinorUnits

__all__ = ["Day", "Flag", "Instant", "Memo", "MinorUnits", "PositiveMinorUnits", "Text", "Whole"]

INSTANT_WORDS = "a date and time in ISO-8601 with an offset, e.g. 2031-03-04T15:00:00Z"
# The years an instant may fall in (in UTC): wide for any session, payment or consent, and far from
# the ends of what a date and time can hold.
FIRST_YEAR, LAST_YEAR = 1900, 2999
DAY_WORDS = "a date in ISO-8601, e.g. 2031-03-04"


def _whole(value: object) -> object:
    if type(value) is not int:
        raise PydanticCustomError(
            "whole_number", "must be a whole number, not text, a decimal number or true/false"
        )
    return value


def _flag(value: object) -> object:
    if type(value) is not bool:
        raise PydanticCustomError("true_or_false", "must be true or false (not text or a number)")
    return value


def _instant(value: object) -> object:
    if not isinstance(value, str):
        raise PydanticCustomError("instant", f"must be {INSTANT_WORDS} (text, not a number)")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("instant", f"must be {INSTANT_WORDS}") from None
    if parsed.tzinfo is None:
        raise PydanticCustomError("instant", f"must be {INSTANT_WORDS}: the offset is missing (Z for UTC)")
    try:
        year = parsed.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PydanticCustomError(
            "instant", f"must be {INSTANT_WORDS}, in the years {FIRST_YEAR} to {LAST_YEAR}"
        )
    return parsed


def _day(value: object) -> object:
    if not isinstance(value, str):
        raise PydanticCustomError("day", f"must be {DAY_WORDS} (text, not a number)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("day", f"must be {DAY_WORDS}") from None


def _no_controls(allowed: str, words: str) -> Callable[[str], str]:
    """Control characters (NUL, the other C0 and C1 codes, DEL) and lone surrogates (no UTF-8 text
    has them) are refused, except those in ``allowed``."""

    def check(value: str) -> str:
        for ch in value:
            if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cs"):
                raise PydanticCustomError("control_character", words)
        return value

    return check


Whole = Annotated[int, BeforeValidator(_whole)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Instant = Annotated[AwareDatetime, BeforeValidator(_instant), Field(description=INSTANT_WORDS)]
Day = Annotated[date, BeforeValidator(_day)]
Text = Annotated[
    str,
    AfterValidator(
        _no_controls("", "must be text on one line, without control characters (NUL, tab, line breaks)")
    ),
]
Memo = Annotated[
    str,
    AfterValidator(
        _no_controls("\t\n\r", "must be text without control characters other than tabs and line breaks")
    ),
]
