"""Service type and client pricing rule items, in the practice's partition: mapping between the
domain models and the table, and the conditional writes."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.core.errors import ConflictError, NotFoundError
from therabill.core.money import Money
from therabill.policies.policy import CancellationPolicyOverride
from therabill.services.errors import PricingRuleNotFoundError, ServiceChangedError, ServiceNotFoundError
from therabill.services.models import PricingRule, ServiceType

SERVICE_FIELDS = (
    "name",
    "cpt_code",
    "modifiers",
    "unit",
    "unit_price",
    "rounding",
    "rounding_increment_minutes",
    "minimum_minutes",
    "minimum_amount",
    "default_duration_minutes",
    "active",
)
_RULE_FIELDS = (
    "client_id",
    "service_id",
    "kind",
    "amount",
    "percent_bps",
    "currency",
    "updated_by",
    "version",
)


def service_item(practice_id: str, s: ServiceType) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.service_sk(s.id),
        "type": "service",
        "id": s.id,
        "name": s.name,
        "cpt_code": s.cpt_code,
        "modifiers": list(s.modifiers),
        "unit": s.unit,
        "unit_price": s.unit_price.amount,
        "currency": s.unit_price.currency,
        "rounding": s.rounding,
        "rounding_increment_minutes": s.rounding_increment_minutes,
        "minimum_minutes": s.minimum_minutes,
        "minimum_amount": s.minimum_amount,
        "default_duration_minutes": s.default_duration_minutes,
        "active": s.active,
        "created_at": iso(s.created_at),
        "version": s.version,
    }
    if s.cancellation_policy is not None:
        item["cancellation_policy"] = s.cancellation_policy.model_dump(mode="json", exclude_unset=True)
    return item


def service_from_item(item: dict[str, Any]) -> ServiceType:
    data = {k: item[k] for k in SERVICE_FIELDS if k != "unit_price"}
    return ServiceType(
        id=item["id"],
        unit_price=Money(amount=item["unit_price"], currency=item["currency"]),
        created_at=parse_iso(item["created_at"]),
        version=item["version"],
        cancellation_policy=CancellationPolicyOverride.model_validate(item["cancellation_policy"])
        if "cancellation_policy" in item
        else None,
        **{**data, "modifiers": tuple(item.get("modifiers") or ())},
    )


def _stored(changes: dict[str, Any]) -> dict[str, Any]:
    """Changes as stored attributes (modifiers: a list)."""
    return {k: list(v) if k == "modifiers" else v for k, v in changes.items()}


def _rule_item(practice_id: str, r: PricingRule) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.pricing_rule_sk(r.client_id, r.service_id),
        "type": "pricing_rule",
        **r.model_dump(mode="json", exclude={"updated_at"}),
        "updated_at": iso(r.updated_at),
    }


def _rule(item: dict[str, Any]) -> PricingRule:
    return PricingRule.model_validate(
        {**{k: item.get(k) for k in _RULE_FIELDS}, "updated_at": parse_iso(item["updated_at"])}
    )


class ServiceStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- service types --------------------------------------------------------------------------
    def create(self, practice_id: str, service: ServiceType) -> None:
        self.table.put_new(service_item(practice_id, service))

    def get(self, practice_id: str, service_id: str) -> ServiceType:
        item = self.table.get(keys.practice_pk(practice_id), keys.service_sk(service_id))
        if not item:
            raise ServiceNotFoundError("service not found")
        return service_from_item(item)

    def list(self, practice_id: str) -> list[ServiceType]:
        items = self.table.query_all(keys.practice_pk(practice_id), prefix=keys.SERVICE_PREFIX)
        return [service_from_item(i) for i in items]

    @staticmethod
    def with_changes(practice_id: str, current: ServiceType, changes: dict[str, Any]) -> ServiceType:
        """The service as it would read after ``changes`` (stored attribute names); raises
        pydantic's ValidationError when the result is not a valid service."""
        merged = service_item(practice_id, current)
        merged.update(_stored(changes))
        return service_from_item(merged)

    def update(
        self, practice_id: str, service_id: str, changes: dict[str, Any], *, expected_version: int | None
    ) -> ServiceType:
        try:
            item = self.table.patch(
                keys.practice_pk(practice_id),
                keys.service_sk(service_id),
                _stored(changes),
                expected_version=expected_version,
                what="service",
            )
        except NotFoundError as exc:
            raise ServiceNotFoundError(exc.message, **exc.details) from exc
        except ConflictError as exc:
            raise ServiceChangedError(exc.message, **exc.details) from exc
        return service_from_item(item)

    # -- client pricing rules -------------------------------------------------------------------
    def get_rule(self, practice_id: str, client_id: str, service_id: str) -> PricingRule | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.pricing_rule_sk(client_id, service_id))
        return _rule(item) if item else None

    def put_rule(self, practice_id: str, rule: PricingRule) -> None:
        self.table.put(_rule_item(practice_id, rule))

    def delete_rule(self, practice_id: str, client_id: str, service_id: str) -> None:
        try:
            self.table.delete(
                keys.practice_pk(practice_id),
                keys.pricing_rule_sk(client_id, service_id),
                condition="attribute_exists(PK)",
            )
        except ConditionFailed as exc:
            raise PricingRuleNotFoundError("no pricing rule for this client and service") from exc
