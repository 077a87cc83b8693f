"""The sandbox payer: answers a 270 as a payer would, from a table of test members, with a real 271
written by the product's own X12 writer; a 270 that does not fit 005010X279A1 gets a 999 rejection
(what a clearinghouse sends back instead of a 271).

Test members (any name and date of birth; the member id decides):

| member id        | answer                                                                          |
|------------------|---------------------------------------------------------------------------------|
| TB-ACTIVE-25     | active; $25 copay in network for 30 / MH / A6 / AD / PT / AE / AF (therapy)      |
| TB-INACTIVE      | inactive (EB*6)                                                                 |
| TB-DEDUCTIBLE    | active; $1,500 calendar-year deductible, $1,200 remaining; 20% coinsurance       |
| TB-VISITS-USED   | active; $25 copay; 20 visits a calendar year, 0 remaining                        |
| TB-PAYER-DOWN    | AAA 42 at the payer (unable to respond now: retry later)                        |
| anything else    | AAA 75 at the subscriber (subscriber not found)                                 |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from therabill.x12.eligibility.layout import check_270
from therabill.x12.envelope import Document, TransactionSet
from therabill.x12.errors import X12UnreadableError
from therabill.x12.reader import read
from therabill.x12.segments import Segment
from therabill.x12.writer import Built, ControlNumbers, Envelope, Party, Transaction, seg, write_interchange

VERSION_271 = "005010X279A1"
VERSION_999 = "005010X231A1"
VERSION_837 = "005010X222A1"
THERAPY_TYPES = ("30", "MH", "A6", "AD", "PT", "AE", "AF")
SANDBOX_ID = "THERABILLSBX"


@dataclass(frozen=True, slots=True)
class Inquiry:
    """What the sandbox reads from a 270 (the ids and names are echoed back, as payers do)."""

    control_number: str  # ST02
    group_number: str  # GS06
    sender: Party
    receiver: Party
    payer: Segment
    provider: Segment
    subscriber: Segment
    demographics: Segment | None
    trace: str
    service_types: tuple[str, ...]


def accept_837(data: bytes, *, numbers: ControlNumbers, now: datetime) -> bytes | None:
    """A 999 accepting an 837P interchange, or None when it holds no 837 of 005010X222A1."""
    try:
        document = read(data)
    except X12UnreadableError:
        return None
    if document.fatal or not document.interchanges or not document.interchanges[0].groups:
        return None
    group = document.interchanges[0].groups[0]
    claims = [t for t in group.transactions if t.code == "837"]
    if not claims or group.version != VERSION_837:
        return None
    isa = document.interchanges[0].header
    sender = Party(isa.get(5).strip(), isa.get(6).strip())
    body = [seg("AK1", "HC", group.control_number, VERSION_837)]
    for claim in claims:
        body += [seg("AK2", "837", claim.control_number, VERSION_837), seg("IK5", "A")]
    body.append(seg("AK9", "A", str(len(claims)), str(len(claims)), str(len(claims))))
    envelope = Envelope(Party("ZZ", SANDBOX_ID), sender, SANDBOX_ID, sender.id, usage="T")
    return write_interchange(
        envelope, [Transaction("999", VERSION_999, tuple(body))], created_at=now, numbers=numbers
    )


def answer_270(data: bytes, *, numbers: ControlNumbers, now: datetime) -> bytes:
    """The 271 for a 270, or a 999 rejecting it."""
    try:
        document = read(data)
    except X12UnreadableError:
        return _reject(None, numbers, now, ["the input is not an X12 interchange"])
    transactions = list(document.transactions("270"))
    problems = [problem.detail for problem in document.problems if problem.severity.value != "warning"]
    if len(transactions) != 1:
        problems.append("one 270 transaction set was expected")
    else:
        problems += check_270(transactions[0])
    if problems:
        return _reject(document, numbers, now, problems)
    inquiry = _inquiry(document, transactions[0])
    body = _response_body(inquiry, now)
    envelope = Envelope(inquiry.receiver, inquiry.sender, SANDBOX_ID, inquiry.sender.id, usage="T")
    return write_interchange(
        envelope, [Transaction("271", VERSION_271, body)], created_at=now, numbers=numbers
    )


def _inquiry(document: Document, transaction: TransactionSet) -> Inquiry:
    interchange = document.interchanges[0]
    isa = interchange.header
    by_entity = {s.get(1): s for s in transaction.body if s.id == "NM1"}
    trace = next((s.get(2) for s in transaction.body if s.id == "TRN"), "")
    return Inquiry(
        control_number=transaction.control_number,
        group_number=interchange.groups[0].control_number,
        sender=Party(isa.get(5).strip(), isa.get(6).strip()),
        receiver=Party(isa.get(7).strip(), isa.get(8).strip()),
        payer=by_entity["PR"],
        provider=by_entity["1P"],
        subscriber=by_entity["IL"],
        demographics=next((s for s in transaction.body if s.id == "DMG"), None),
        trace=trace,
        service_types=tuple(s.get(1) for s in transaction.body if s.id == "EQ"),
    )


def _copy(segment: Segment) -> Built:
    return seg(segment.id, *segment.elements)


def _response_body(inquiry: Inquiry, now: datetime) -> tuple[Built, ...]:
    member_id = inquiry.subscriber.get(9)
    head = [
        seg("BHT", "0022", "11", inquiry.trace, now.strftime("%Y%m%d"), now.strftime("%H%M")),
        seg("HL", "1", "", "20", "1"),
        _copy(inquiry.payer),
    ]
    if member_id == "TB-PAYER-DOWN":
        return (*head, seg("AAA", "Y", "", "42", "P"))
    head += [seg("HL", "2", "1", "21", "1"), _copy(inquiry.provider), seg("HL", "3", "2", "22", "0")]
    head += [seg("TRN", "2", inquiry.trace, "9" + SANDBOX_ID[:9]), _copy(inquiry.subscriber)]
    if member_id not in MEMBERS:
        return (*head, seg("AAA", "Y", "", "75", "C"))
    if inquiry.demographics is not None:
        head.append(_copy(inquiry.demographics))
    year = now.year
    head.append(seg("DTP", "346", "D8", f"{year}0101"))
    return (*head, *MEMBERS[member_id]())


def _active(plan: str = "SANDBOX PPO") -> list[Built]:
    return [seg("EB", "1", "IND", "30", "C1", plan)]


def _copays(amount: str = "25") -> list[Built]:
    return [seg("EB", "B", "IND", code, "", "", "27", amount, "", "", "", "", "Y") for code in THERAPY_TYPES]


def _member_active_25() -> list[Built]:
    return [*_active(), *_copays()]


def _member_inactive() -> list[Built]:
    return [seg("EB", "6", "IND", "30", "C1", "SANDBOX PPO")]


def _member_deductible() -> list[Built]:
    return [
        *_active(),
        seg("EB", "C", "IND", "30", "", "", "23", "1500", "", "", "", "", "Y"),
        seg("EB", "C", "IND", "30", "", "", "29", "1200", "", "", "", "", "Y"),
        seg("EB", "A", "IND", "MH", "", "", "27", "", ".2", "", "", "", "Y"),
    ]


def _member_visits_used() -> list[Built]:
    return [
        *_active(),
        *_copays(),
        seg("EB", "F", "IND", "MH", "", "", "23", "", "", "VS", "20", "", "Y"),
        seg("EB", "F", "IND", "MH", "", "", "29", "", "", "VS", "0", "", "Y"),
    ]


MEMBERS = {
    "TB-ACTIVE-25": _member_active_25,
    "TB-INACTIVE": _member_inactive,
    "TB-DEDUCTIBLE": _member_deductible,
    "TB-VISITS-USED": _member_visits_used,
}


def _reject(document: Document | None, numbers: ControlNumbers, now: datetime, problems: list[str]) -> bytes:
    """A 999 refusing the 270: AK1/AK2 name what was refused, IK3/IK4 the first segment found at
    fault where it can be told, IK5/AK9 R."""
    interchanges = document.interchanges if document is not None else ()
    group, control, sender = "0", "0000", Party("ZZ", "UNKNOWN")
    transactions: list[TransactionSet] = []
    if interchanges:
        isa = interchanges[0].header
        sender = Party(isa.get(5).strip() or "ZZ", isa.get(6).strip() or "UNKNOWN")
        if interchanges[0].groups:
            group = interchanges[0].groups[0].control_number or "0"
            transactions = list(interchanges[0].groups[0].transactions)
    if transactions:
        control = transactions[0].control_number or "0000"
    body = [seg("AK1", "HS", group, VERSION_271), seg("AK2", "270", control, VERSION_271)]
    body += _segment_errors(transactions[0] if transactions else None)
    body += [seg("IK5", "R", "5"), seg("AK9", "R", "1", "1", "0")]
    envelope = Envelope(Party("ZZ", SANDBOX_ID), sender, SANDBOX_ID, sender.id, usage="T")
    return write_interchange(
        envelope, [Transaction("999", VERSION_999, tuple(body))], created_at=now, numbers=numbers
    )


def _segment_errors(transaction: TransactionSet | None) -> list[Built]:
    """IK3/IK4 for the defects a payer names most: no member id, no date of birth."""
    if transaction is None:
        return []
    for position, segment in enumerate(transaction.body, start=2):
        if segment.id == "NM1" and segment.get(1) == "IL" and not segment.get(9):
            return [seg("IK3", "NM1", str(position), "2100", "8"), seg("IK4", "9", "67", "1")]
        if segment.id == "DMG" and not segment.get(2):
            return [seg("IK3", "DMG", str(position), "2100", "8"), seg("IK4", "2", "1251", "1")]
    return []
