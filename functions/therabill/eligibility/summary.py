"""The 271 as the product shows it (pure): an ``x12`` ``Eligibility`` told per service type into
copays, coinsurance, deductibles and out-of-pocket (individual / family, in / out of network, total
and remaining), visit limits and prior authorization; the AAA rejections in words."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from therabill.eligibility.models import (
    Accumulator,
    Coinsurance,
    Copay,
    EligibilityCheck,
    Level,
    Network,
    NetworkStatus,
    RejectionReason,
    ServiceBenefits,
    VisitLimit,
)
from therabill.x12.eligibility import benefits as x12
from therabill.x12.values import DateRange

_NETWORKS: dict[str, Network] = {"Y": "in", "N": "out", "W": "both"}
_LEVELS: dict[str, Level] = {"IND": "individual", "EMP": "individual", "FAM": "family"}


def network_of(benefit: x12.Benefit) -> Network:
    return _NETWORKS.get(benefit.network, "not_stated")


def _accumulators(found: Iterable[x12.Benefit]) -> tuple[Accumulator, ...]:
    """Per coverage level and network: the period's total and what is left (EB06 29/33)."""
    totals: dict[tuple[Level, Network], dict[str, int]] = {}
    for benefit in found:
        if benefit.amount is None:
            continue
        key = (_LEVELS.get(benefit.coverage_level, "not_stated"), network_of(benefit))
        slot = totals.setdefault(key, {})
        slot.setdefault("remaining" if benefit.remaining else "total", benefit.amount)
    return tuple(
        Accumulator(level=level, network=network, total=v.get("total"), remaining=v.get("remaining"))
        for (level, network), v in totals.items()
    )


def _visits(benefit: x12.Benefit) -> int | None:
    if benefit.quantity_qualifier == "VS" and benefit.quantity is not None:
        return int(benefit.quantity)
    delivery = next((d for d in benefit.deliveries if d.quantity_qualifier == "VS"), None)
    return int(delivery.quantity) if delivery and delivery.quantity is not None else None


def _visit_limits(found: Iterable[x12.Benefit]) -> tuple[VisitLimit, ...]:
    limits: dict[Network, dict[str, int]] = {}
    for benefit in found:
        visits = _visits(benefit)
        if visits is not None:
            slot = limits.setdefault(network_of(benefit), {})
            slot.setdefault("remaining" if benefit.remaining else "limit", visits)
    return tuple(
        VisitLimit(network=network, limit=v.get("limit"), remaining=v.get("remaining"))
        for network, v in limits.items()
    )


def _percent(value: Decimal) -> str:
    """20.00 → "20", 12.50 → "12.5" (exact: never through a float)."""
    return format(value.normalize(), "f")


def service_benefits(eligibility: x12.Eligibility, code: str) -> ServiceBenefits:
    found = eligibility.service(code) if code == "30" else eligibility.service_with_plan(code)
    copays = {(network_of(b), b.amount) for b in found.copays if b.amount is not None}
    coinsurance = {(network_of(b), b.percent) for b in found.coinsurance if b.percent is not None}
    return ServiceBenefits(
        service_type=code,
        name=found.name,
        active=found.active,
        copays=tuple(Copay(network=n, amount=a) for n, a in sorted(copays)),
        coinsurance=tuple(Coinsurance(network=n, percent=_percent(p)) for n, p in sorted(coinsurance)),
        deductibles=_accumulators(found.deductibles),
        out_of_pocket=_accumulators(found.out_of_pocket),
        visit_limits=_visit_limits(found.limitations),
        prior_authorization_required=found.prior_authorization_required,
    )


def copay_found(eligibility: x12.Eligibility, service_types: tuple[str, ...]) -> int | None:
    """The in-network copay of the discipline's first code stating one, else the plan's (30)."""
    ordered = [code for code in service_types if code != "30"] + ["30"]
    for code in ordered:
        amount = eligibility.service(code).copay("Y")
        if amount is not None:
            return amount
    return None


def coinsurance_found(check: EligibilityCheck) -> int | None:
    """The in-network coinsurance of the discipline's first code stating one (else the plan's),
    when it is a whole percentage (the coverage keeps whole percentages)."""
    if check.status != "active":
        return None
    ordered = [s for s in check.services if s.service_type != "30"]
    ordered += [s for s in check.services if s.service_type == "30"]
    for service in ordered:
        percent = next((c.percent for c in service.coinsurance if c.network in ("in", "both")), None)
        if percent is not None:
            value = Decimal(percent)
            return int(value) if value == value.to_integral_value() and 0 <= value <= 100 else None
    return None


def network_status(eligibility: x12.Eligibility) -> NetworkStatus:
    """In network when the payer states in-network benefits (EB12 Y or W); out when it states
    only out-of-network ones; else not stated."""
    stated = {benefit.network for benefit in eligibility.benefits}
    if stated & {"Y", "W"}:
        return "in_network"
    return "out_of_network" if "N" in stated else "not_stated"


def plan_dates(eligibility: x12.Eligibility) -> tuple[DateRange | None, DateRange | None]:
    """The plan's (or eligibility's) begin and end: 346/347, else 291 or 307 as a range, else
    356/357."""
    begin = eligibility.date("346") or eligibility.date("356")
    end = eligibility.date("347") or eligibility.date("357")
    whole = eligibility.date("291") or eligibility.date("307")
    if whole is not None and whole.start != whole.end:
        begin, end = begin or whole, end or whole
    return begin, end


def rejections(eligibility: x12.Eligibility) -> tuple[RejectionReason, ...]:
    return tuple(
        RejectionReason(
            code=r.code,
            about=r.about,
            reason=r.explanation,
            next_step=r.next_step,
            retry_later=r.retry_later,
        )
        for r in eligibility.rejections
    )
