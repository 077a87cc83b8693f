"""The 271 eligibility response (005010X279A1) read into typed results: one `Eligibility` per
patient (a subscriber without dependents, or each dependent), with the rejections (AAA) of the
payer (2100A), provider (2100B), subscriber (2100C / 2110C) and dependent (2100D / 2110D) levels.

A file whose content would be mis-read (composites or repetitions written with a separator the ISA
does not declare) is refused with `X12UnreadableError`; envelope defects are returned as problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from therabill.x12.eligibility.benefits import Benefit, Eligibility, EligibilityResponse, ServiceDelivery
from therabill.x12.eligibility.rejections import Rejection
from therabill.x12.envelope import TransactionSet
from therabill.x12.errors import X12UnreadableError
from therabill.x12.problems import Problem, ProblemKind
from therabill.x12.reader import read
from therabill.x12.segments import Segment
from therabill.x12.values import DateRange, parse_decimal, parse_period, to_minor_units

_LOOPS = {"20": "2100A", "21": "2100B", "22": "2100C", "23": "2100D"}
_BENEFIT_LOOPS = {"22": "2110C", "23": "2110D"}


def read_271(data: bytes) -> EligibilityResponse:
    document = read(data)
    if document.fatal:
        raise X12UnreadableError("the 271 cannot be read safely", problems=document.fatal)
    problems = list(document.problems)
    results: list[Eligibility] = []
    for transaction in document.transactions("271"):
        reader = _TransactionReader()
        results.extend(reader.read(transaction))
        problems.extend(reader.problems)
    return EligibilityResponse(tuple(results), tuple(problems))


@dataclass
class _Patient:
    """A 2000C or 2000D loop being read."""

    level: str
    member_id: str = ""
    group_number: str = ""
    traces: list[str] = field(default_factory=list)
    dates: list[tuple[str, DateRange]] = field(default_factory=list)
    benefits: list[Benefit] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    has_dependents: bool = False


class _TransactionReader:
    """One pass over a 271's body; the HL level and whether an EB was seen place each segment."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.payer_name = ""
        self.payer_id = ""
        self.level = ""
        self.shared_rejections: list[Rejection] = []  # 2100A and 2100B: every patient's
        self.patients: list[_Patient] = []
        self.in_related_entity = False

    @property
    def patient(self) -> _Patient | None:
        return self.patients[-1] if self.patients and self.level in ("22", "23") else None

    def read(self, transaction: TransactionSet) -> list[Eligibility]:
        for segment in transaction.body:
            handler = getattr(self, f"_on_{segment.id.lower()}", None)
            if handler is not None:
                handler(segment)
        return self._results()

    def _bad(self, segment: Segment, element: int, detail: str) -> None:
        self.problems.append(Problem(ProblemKind.BAD_VALUE, segment.position, segment.id, detail, element))

    def _on_hl(self, segment: Segment) -> None:
        self.level = segment.get(3)
        self.in_related_entity = False
        if self.level in ("22", "23"):
            subscriber = next((p for p in reversed(self.patients) if p.level == "22"), None)
            patient = _Patient(self.level)
            if self.level == "23" and subscriber is not None:
                subscriber.has_dependents = True
                patient.member_id, patient.group_number = subscriber.member_id, subscriber.group_number
            self.patients.append(patient)

    def _on_ls(self, segment: Segment) -> None:
        self.in_related_entity = True

    def _on_le(self, segment: Segment) -> None:
        self.in_related_entity = False

    def _on_nm1(self, segment: Segment) -> None:
        patient = self.patient
        if self.in_related_entity and patient is not None and patient.benefits:
            benefit = patient.benefits[-1]
            patient.benefits[-1] = replace(
                benefit, related_entities=(*benefit.related_entities, segment.get(1))
            )
        elif self.level == "20":
            self.payer_name, self.payer_id = segment.get(3), segment.get(9)
        elif patient is not None and segment.get(1) == "IL" and segment.get(9):
            patient.member_id = segment.get(9)

    def _on_trn(self, segment: Segment) -> None:
        if self.patient is not None and segment.get(1) == "2":
            self.patient.traces.append(segment.get(2))

    def _on_ref(self, segment: Segment) -> None:
        patient = self.patient
        if patient is not None and not patient.benefits and segment.get(1) == "6P":
            patient.group_number = segment.get(2)

    def _on_aaa(self, segment: Segment) -> None:
        patient = self.patient
        in_benefit = patient is not None and bool(patient.benefits)
        loop = (_BENEFIT_LOOPS if in_benefit else _LOOPS).get(self.level, "")
        valid = {"Y": True, "N": False}.get(segment.get(1))
        rejection = Rejection(loop, segment.get(3), segment.get(4), valid)
        if patient is None:
            self.shared_rejections.append(rejection)
        else:
            patient.rejections.append(rejection)

    def _on_dtp(self, segment: Segment) -> None:
        patient = self.patient
        if patient is None:
            return
        try:
            period = parse_period(segment.get(2), segment.get(3))
        except ValueError:
            self._bad(segment, 3, "not a date in the format DTP02 names")
            return
        if patient.benefits:
            benefit = patient.benefits[-1]
            patient.benefits[-1] = replace(benefit, dates=(*benefit.dates, (segment.get(1), period)))
        else:
            patient.dates.append((segment.get(1), period))

    def _on_eb(self, segment: Segment) -> None:
        self.in_related_entity = False
        if self.patient is not None:
            self.patient.benefits.append(self._benefit(segment))

    def _on_hsd(self, segment: Segment) -> None:
        patient = self.patient
        if patient is None or not patient.benefits:
            return
        delivery = ServiceDelivery(
            segment.get(1),
            self._decimal(segment, 2),
            segment.get(3),
            segment.get(5),
            self._decimal(segment, 6),
        )
        benefit = patient.benefits[-1]
        patient.benefits[-1] = replace(benefit, deliveries=(*benefit.deliveries, delivery))

    def _on_msg(self, segment: Segment) -> None:
        patient = self.patient
        if patient is not None and patient.benefits:
            benefit = patient.benefits[-1]
            patient.benefits[-1] = replace(benefit, messages=(*benefit.messages, segment.get(1)))

    def _decimal(self, segment: Segment, element: int) -> Decimal | None:
        text = segment.get(element)
        if not text:
            return None
        try:
            return parse_decimal(text)
        except ValueError:
            self._bad(segment, element, "not a number")
            return None

    def _amount(self, segment: Segment, element: int) -> int | None:
        text = segment.get(element)
        if not text:
            return None
        try:
            return to_minor_units(text)
        except ValueError:
            self._bad(segment, element, "not an amount with at most two decimals")
            return None

    def _percent(self, segment: Segment) -> Decimal | None:
        """EB08 is a fraction (0.2 is 20%); a value over 1 is taken as already a percentage."""
        value = self._decimal(segment, 8)
        if value is None:
            return None
        return value * 100 if value <= 1 else value

    def _benefit(self, segment: Segment) -> Benefit:
        return Benefit(
            position=segment.position,
            kind=segment.get(1),
            coverage_level=segment.get(2),
            service_types=segment.repetitions(3),
            insurance_type=segment.get(4),
            plan_description=segment.get(5),
            time_period=segment.get(6),
            amount=self._amount(segment, 7),
            percent=self._percent(segment),
            quantity_qualifier=segment.get(9),
            quantity=self._decimal(segment, 10),
            authorization_required={"Y": True, "N": False}.get(segment.get(11)),
            network=segment.get(12),
            procedure=segment.components(13),
        )

    def _results(self) -> list[Eligibility]:
        patients = [p for p in self.patients if not p.has_dependents or p.benefits or p.rejections]
        if not patients and self.shared_rejections:
            patients = [_Patient("")]
        return [self._eligibility(patient) for patient in patients]

    def _eligibility(self, patient: _Patient) -> Eligibility:
        return Eligibility(
            payer_name=self.payer_name,
            payer_id=self.payer_id,
            patient_is_dependent=patient.level == "23",
            member_id=patient.member_id,
            group_number=patient.group_number,
            trace_numbers=tuple(patient.traces),
            dates=tuple(patient.dates),
            benefits=tuple(patient.benefits),
            rejections=(*self.shared_rejections, *patient.rejections),
        )
