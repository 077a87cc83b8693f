"""What a 271 says, typed: benefits (EB and what follows it), one patient's eligibility, and the
benefits for one service type told apart by kind, coverage level, network and time period."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from therabill.x12.eligibility import codes
from therabill.x12.eligibility.rejections import Rejection
from therabill.x12.errors import X12UnreadableError
from therabill.x12.problems import Problem
from therabill.x12.values import DateRange

NETWORKS = {"Y": "in network", "N": "out of network", "W": "in and out of network", "U": "unknown"}


class CoverageStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REJECTED = "rejected"  # the payer answered with AAA rejections and no coverage
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ServiceDelivery:
    """HSD: e.g. 20 visits (VS 20) per calendar year (time period 22/23/... in HSD05/HSD06)."""

    quantity_qualifier: str
    quantity: Decimal | None
    unit: str
    time_period: str
    periods: Decimal | None


@dataclass(frozen=True, slots=True)
class Benefit:
    """One EB segment with the HSD, DTP, MSG and related entities that belong to it."""

    position: int
    kind: str  # EB01
    coverage_level: str  # EB02 (IND, FAM, ...) or ""
    service_types: tuple[str, ...]  # EB03
    insurance_type: str  # EB04
    plan_description: str  # EB05
    time_period: str  # EB06 (23 calendar year, 29 remaining, 32 lifetime, ...)
    amount: int | None  # EB07 in minor units (cents)
    percent: Decimal | None  # EB08 as a percentage (0.2 in the file is 20)
    quantity_qualifier: str  # EB09
    quantity: Decimal | None  # EB10
    authorization_required: bool | None  # EB11: Y, N; U or absent is None
    network: str  # EB12: Y in, N out, W both, U unknown, "" not stated
    procedure: tuple[str, ...]  # EB13 components (e.g. HC, 90837)
    dates: tuple[tuple[str, DateRange], ...] = ()
    deliveries: tuple[ServiceDelivery, ...] = ()
    messages: tuple[str, ...] = ()
    related_entities: tuple[str, ...] = ()  # NM101 of each 2120 loop (P3: primary care provider)

    @property
    def kind_name(self) -> str:
        return codes.BENEFIT_KINDS.get(self.kind, "Unknown benefit")

    @property
    def network_name(self) -> str:
        return NETWORKS.get(self.network, "not stated")

    @property
    def time_period_name(self) -> str:
        return codes.TIME_PERIODS.get(self.time_period, "")

    @property
    def remaining(self) -> bool:
        """The amount or quantity is what is left (EB06 29 or 33), not the total."""
        return self.time_period in codes.REMAINING_PERIODS

    def applies_to(self, service_type: str) -> bool:
        """EB03 lists the code; a benefit without EB03 or EB13 applies to the plan as a whole (30)."""
        if self.service_types:
            return service_type in self.service_types
        return service_type == "30" and not self.procedure


@dataclass(frozen=True, slots=True)
class ServiceBenefits:
    """The benefits for one service type code, by kind."""

    service_type: str
    benefits: tuple[Benefit, ...]

    @property
    def name(self) -> str:
        return codes.service_type_name(self.service_type)

    def _of(self, kind: str) -> tuple[Benefit, ...]:
        return tuple(benefit for benefit in self.benefits if benefit.kind == kind)

    @property
    def active(self) -> bool | None:
        kinds = {benefit.kind for benefit in self.benefits}
        if kinds & codes.ACTIVE:
            return True
        return False if kinds & (codes.INACTIVE | {"I"}) else None

    @property
    def copays(self) -> tuple[Benefit, ...]:
        return self._of("B")

    @property
    def coinsurance(self) -> tuple[Benefit, ...]:
        return self._of("A")

    @property
    def deductibles(self) -> tuple[Benefit, ...]:
        return self._of("C")

    @property
    def out_of_pocket(self) -> tuple[Benefit, ...]:
        return self._of("G")

    @property
    def limitations(self) -> tuple[Benefit, ...]:
        """EB*F: visit limits and the like (EB09/EB10 or HSD)."""
        return self._of("F")

    @property
    def prior_authorization_required(self) -> bool | None:
        flags = {benefit.authorization_required for benefit in self.benefits} - {None}
        if True in flags:
            return True
        return False if flags else None

    def copay(self, network: str = "Y") -> int | None:
        """The copay in minor units for a network (Y in, N out); W (either) counts for both."""
        for benefit in self.copays:
            if benefit.amount is not None and benefit.network in (network, "W", ""):
                return benefit.amount
        return None


@dataclass(frozen=True, slots=True)
class Eligibility:
    """One patient's answer (the subscriber, or a dependent), with the rejections above them."""

    payer_name: str
    payer_id: str
    patient_is_dependent: bool
    member_id: str = field(repr=False)  # health information: kept out of the repr
    group_number: str
    trace_numbers: tuple[str, ...]
    dates: tuple[tuple[str, DateRange], ...]
    benefits: tuple[Benefit, ...]
    rejections: tuple[Rejection, ...]

    @property
    def status(self) -> CoverageStatus:
        kinds = {benefit.kind for benefit in self.benefits}
        if kinds & codes.ACTIVE:
            return CoverageStatus.ACTIVE
        if kinds & codes.INACTIVE:
            return CoverageStatus.INACTIVE
        return CoverageStatus.REJECTED if self.rejections else CoverageStatus.UNKNOWN

    @property
    def active(self) -> bool:
        return self.status is CoverageStatus.ACTIVE

    @property
    def plan_name(self) -> str | None:
        described = [benefit for benefit in self.benefits if benefit.plan_description]
        preferred = [benefit for benefit in described if benefit.kind in codes.ACTIVE] or described
        return preferred[0].plan_description if preferred else None

    def date(self, qualifier: str) -> DateRange | None:
        """A patient-level DTP by qualifier: 346 plan begin, 347 plan end, 291 plan, 307
        eligibility, 356 eligibility begin, 357 eligibility end."""
        return next((period for code, period in self.dates if code == qualifier), None)

    @property
    def named_dates(self) -> dict[str, DateRange]:
        """The patient-level dates by name (Plan Begin, Eligibility End, ...), first of each."""
        named: dict[str, DateRange] = {}
        for code, period in self.dates:
            named.setdefault(codes.PATIENT_DATES.get(code, f"Date {code}"), period)
        return named

    def service(self, service_type: str) -> ServiceBenefits:
        """The benefits the payer listed for this service type code (strictly)."""
        matching = tuple(benefit for benefit in self.benefits if benefit.applies_to(service_type))
        return ServiceBenefits(service_type, matching)

    def service_with_plan(self, service_type: str) -> ServiceBenefits:
        """The service type's own benefits, and for each kind it has none of (a deductible, an
        out-of-pocket maximum, ...), the plan's (30): payers often state those once, for the plan."""
        own = self.service(service_type)
        kinds = {benefit.kind for benefit in own.benefits}
        plan = [benefit for benefit in self.service("30").benefits if benefit.kind not in kinds]
        return ServiceBenefits(service_type, (*own.benefits, *plan))

    @property
    def service_types(self) -> tuple[str, ...]:
        """Every service type code the payer answered for, in the order first seen."""
        seen = dict.fromkeys(code for benefit in self.benefits for code in benefit.service_types)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class EligibilityResponse:
    results: tuple[Eligibility, ...]
    problems: tuple[Problem, ...]

    @property
    def only(self) -> Eligibility:
        """The one result of a real-time response (one patient)."""
        if len(self.results) != 1:
            raise X12UnreadableError("the response does not hold exactly one patient")
        return self.results[0]
