"""The 999 implementation acknowledgment (005010X231A1) read into rejection reasons: which
transaction set was refused, which segment and element, and the X12 code for why. IK4's copy of
the bad element (IK404) is never read: it may be a member id or a name."""

from __future__ import annotations

from therabill.clearinghouse.errors import RejectionReason
from therabill.x12.errors import X12UnreadableError
from therabill.x12.reader import read

# IK304: why a segment is in error.
SEGMENT_ERRORS = {
    "1": "Unrecognized segment",
    "2": "Unexpected segment",
    "3": "Required segment missing",
    "4": "Loop occurs over maximum times",
    "5": "Segment exceeds maximum use",
    "6": "Segment not in defined transaction set",
    "7": "Segment not in proper sequence",
    "8": "Segment has data element errors",
}
# IK403: why an element is in error.
ELEMENT_ERRORS = {
    "1": "Required data element missing",
    "2": "Conditional required data element missing",
    "3": "Too many data elements",
    "4": "Data element too short",
    "5": "Data element too long",
    "6": "Invalid character in data element",
    "7": "Invalid code value",
    "8": "Invalid date",
    "9": "Invalid time",
    "10": "Exclusion condition violated",
    "12": "Too many repetitions",
    "13": "Too many components",
}
# IK502 / AK905: why the transaction set or group is refused.
SET_ERRORS = {
    "1": "Transaction set not supported",
    "2": "Transaction set trailer missing",
    "3": "Transaction set control number in header and trailer do not match",
    "4": "Number of included segments does not match actual count",
    "5": "One or more segments in error",
    "6": "Missing or invalid transaction set identifier",
    "7": "Missing or invalid transaction set control number",
}


def is_999(data: bytes) -> bool:
    """Whether an interchange holds a 999 (a clearinghouse's answer instead of a 271)."""
    try:
        return any(True for _ in read(data).transactions("999"))
    except X12UnreadableError:
        return False


def rejected(data: bytes) -> bool:
    """Whether a 999 refuses anything (IK5 or AK9 other than A or E)."""
    for transaction in read(data).transactions("999"):
        for segment in transaction.body:
            if segment.id in ("IK5", "AK9") and segment.get(1) not in ("A", "E"):
                return True
    return False


def reasons_from_999(data: bytes) -> tuple[RejectionReason, ...]:
    """Every IK3/IK4 error, and the IK5 set-level codes, in order."""
    reasons: list[RejectionReason] = []
    segment_at = ""
    for transaction in read(data).transactions("999"):
        for segment in transaction.body:
            if segment.id == "IK3":
                segment_at = f"{segment.get(1)} (segment {segment.get(2)} of the transaction set)"
                code = segment.get(4)
                reasons.append(RejectionReason(f"IK3-{code}", segment_at, SEGMENT_ERRORS.get(code, "")))
            elif segment.id == "IK4":
                position = segment.components(1)
                element = position[0] if position else ""
                code = segment.get(3)
                location = f"element {element} of {segment_at}" if segment_at else f"element {element}"
                reasons.append(RejectionReason(f"IK4-{code}", location, ELEMENT_ERRORS.get(code, "")))
            elif segment.id == "IK5" and segment.get(1) not in ("A", "E"):
                for index in range(2, 7):
                    code = segment.get(index)
                    if code:
                        reasons.append(
                            RejectionReason(f"IK5-{code}", "transaction set", SET_ERRORS.get(code, ""))
                        )
    return tuple(reasons)
