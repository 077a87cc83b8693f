"""A US address as a claim carries it, and the billing provider's rules for it. Pure.

The state is a USPS two-letter code (USPS Publication 28, Appendix B): the 50 states, DC, and the
five inhabited US territories that have Medicare and Medicaid: American Samoa (AS), Guam (GU), the
Northern Mariana Islands (MP), Puerto Rico (PR) and the US Virgin Islands (VI). Not accepted: the
freely associated states (FM, MH, PW: their own countries) and the military codes AA, AE and AP
(APO/FPO mail: never where a practice sees clients).

The billing provider's address (837P loop 2010AA) must be the street address where the practice
is, with a nine-digit ZIP (ZIP+4): a PO box, lock box or the like belongs in the pay-to address
(the 837P's implementation guide, and X12's published interpretation of that rule). The lengths
are the 837P's: 55 characters a street line, 30 the city.

What counts as a box: see ``box_in``. The line is read in capitals, with Unicode compatibility forms
folded (full-width letters), dots dropped (``P.O.`` → ``PO``), any other punctuation read as a
space, a zero typed for the O of PO read as an O (``P0 Box``, a known way round payers' edits),
letters and digits split (``Box12`` → ``BOX 12``) and a spaced ``P O`` joined (``PO``). Then:

- always a box, wherever in the line: PO BOX, POST OFFICE BOX, POST BOX, POSTAL BOX, PO DRAWER,
  POST OFFICE DRAWER, LOCK BOX, LOCKBOX, PRIVATE MAILBOX / PRIVATE MAIL BOX;
- a box when a box number follows (a token with a digit, or a single letter) or, for the P.O.
  shorthands, when nothing follows: POBOX, POB, PO B, POSTBOX, PMB; and BOX, DRAWER, MAILBOX,
  APARTADO and APDO (a PO box in Puerto Rico) followed by a box number (``Box 12``, ``Caller Box
  5``, ``RR 2 Box 45``, ``Drawer 7``, ``Apartado 1234``).

So "Boxwood Lane", "Box Elder Road", "Pollock Box St", "Pobox Road", "Post Road", "Boston Post
Rd", "1 Post Office Square" and "Drawer Lane" are streets. A rural route or highway contract box
("RR 2 Box 45") is refused: it is where mail is left, not a street address.
"""

from __future__ import annotations

import re
import unicodedata

from therabill.providers.errors import ProviderValueError

STREET_LINE_MAX = 55  # N301 / N302
CITY_MAX = 30  # N401

# fmt: off
STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "DC": "District of Columbia",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "US Virgin Islands",
}
# fmt: on

_ZIP5 = re.compile(r"[0-9]{5}")
_ZIP9 = re.compile(r"([0-9]{5})-?([0-9]{4})")

# Phrases that are a box wherever they stand (matched on whole tokens).
_ALWAYS = (
    "PO BOX",
    "POST OFFICE BOX",
    "POST BOX",
    "POSTAL BOX",
    "PO DRAWER",
    "POST OFFICE DRAWER",
    "LOCK BOX",
    "LOCKBOX",
    "PRIVATE MAILBOX",
    "PRIVATE MAIL BOX",
)
# Shorthands that are a box when a box number, or nothing, follows.
_SHORTHANDS = ("POBOX", "POB", "PO B", "POSTBOX", "PMB")
# Words that are a box only when a box number follows (Apartado, Apdo: a PO box in Puerto Rico).
_NUMBERED = ("BOX", "DRAWER", "MAILBOX", "APARTADO", "APDO")


def _tokens(line: str) -> list[str]:
    text = unicodedata.normalize("NFKC", line).upper().replace(".", "")
    text = re.sub(r"[^A-Z0-9]+", " ", text)
    text = re.sub(r"\bP ?0(?= ?B| ?DRAWER\b)", "PO", text)  # P0 BOX, P0B: a zero for the O
    text = re.sub(r"(?<=[A-Z])(?=[0-9])|(?<=[0-9])(?=[A-Z])", " ", text)
    text = re.sub(r"\bP O\b", "PO", text)
    return text.split()


def _is_box_number(token: str) -> bool:
    return any(ch.isdigit() for ch in token) or (len(token) == 1 and token.isalpha())


def _find(tokens: list[str], phrase: str) -> list[int]:
    """The index of the token after each whole-token occurrence of ``phrase``."""
    words = phrase.split()
    n = len(words)
    return [i + n for i in range(len(tokens) - n + 1) if tokens[i : i + n] == words]


def box_in(line: str) -> str | None:
    """The box designation in a street line (as read, e.g. ``PO BOX``), or None for a street."""
    tokens = _tokens(line)
    for phrase in _ALWAYS:
        if _find(tokens, phrase):
            return phrase
    for phrase in _SHORTHANDS:
        for after in _find(tokens, phrase):
            if after == len(tokens) or _is_box_number(tokens[after]):
                return phrase
    for word in _NUMBERED:
        for after in _find(tokens, word):
            if after < len(tokens) and _is_box_number(tokens[after]):
                return word
    return None


def check_street_address(line: str) -> str:
    """The line, or ProviderValueError when it is a box rather than a street address."""
    found = box_in(line)
    if found is not None:
        raise ProviderValueError(
            f"must be the street address where the practice is, not a box ({found}): claims refuse "
            "a PO box, lock box, drawer or private mailbox as the billing provider's address; "
            "mail for payments can go to a pay-to address instead",
            rule="street_address",
        )
    return line


def normalise_state(text: str) -> str:
    code = text.strip().upper()
    if code not in STATES:
        raise ProviderValueError(
            "must be a two-letter USPS code of a state (e.g. ME), DC, or a territory: AS, GU, MP, PR or VI",
            rule="state",
        )
    return code


def normalise_zip(text: str, *, plus_four: bool) -> str:
    """``NNNNN`` or ``NNNNN-NNNN`` (from ``NNNNN-NNNN`` or ``NNNNNNNNN``). With ``plus_four``
    the four-digit add-on is required."""
    value = text.strip()
    nine = _ZIP9.fullmatch(value)
    if nine is not None:
        return f"{nine.group(1)}-{nine.group(2)}"
    if plus_four:
        words = "must be a ZIP+4 code, NNNNN-NNNN: claims need all nine digits for this address"
        if _ZIP5.fullmatch(value):
            words += " (the USPS ZIP code look-up gives the last four)"
        raise ProviderValueError(words, rule="zip_plus_4")
    if _ZIP5.fullmatch(value) is None:
        raise ProviderValueError("must be a ZIP code: NNNNN or NNNNN-NNNN", rule="zip")
    return value
