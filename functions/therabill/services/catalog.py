"""Service types and client pricing rules, inside one practice's partition."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import Clock, iso, parse_iso
from therabill.core.errors import InvalidRequestError, NotFoundError
from therabill.core.ids import is_id, new_id
from therabill.core.money import Money
from therabill.policies.cancellation import (
    CancellationPolicy,
    CancellationPolicyOverride,
    FlatFee,
    merge_policy,
)
from therabill.services.models import PricingRule, RuleKind, ServiceType

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


def _service_item(practice_id: str, s: ServiceType) -> dict[str, Any]:
    return {
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
        **(
            {"cancellation_policy": s.cancellation_policy.model_dump(mode="json", exclude_unset=True)}
            if s.cancellation_policy is not None
            else {}
        ),
    }


def _service(item: dict[str, Any]) -> ServiceType:
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


def _rule_item(practice_id: str, r: PricingRule) -> dict[str, Any]:
    return {
        "PK": keys.practice_pk(practice_id),
        "SK": keys.pricing_rule_sk(r.client_id, r.service_id),
        "type": "pricing_rule",
        **r.model_dump(mode="json", exclude={"updated_at"}),
        "updated_at": iso(r.updated_at),
    }


def _rule(item: dict[str, Any]) -> PricingRule:
    fields = ("client_id", "service_id", "kind", "amount", "percent_bps", "currency", "updated_by", "version")
    return PricingRule.model_validate(
        {**{k: item.get(k) for k in fields}, "updated_at": parse_iso(item["updated_at"])}
    )


class ServiceCatalog:
    def __init__(self, table: Table, clock: Clock) -> None:
        self._table = table
        self._clock = clock

    # -- service types --------------------------------------------------------------------------
    def create(self, practice_id: str, *, currency: str, unit_price: int, **fields: Any) -> ServiceType:
        service = ServiceType(
            id=new_id("svc"),
            unit_price=Money(amount=unit_price, currency=currency),
            created_at=self._clock(),
            version=1,
            **fields,
        )
        self._table.put_new(_service_item(practice_id, service))
        return service

    def get(self, practice_id: str, service_id: str) -> ServiceType:
        if not is_id(service_id, "svc"):
            raise NotFoundError("service not found")
        item = self._table.get(keys.practice_pk(practice_id), keys.service_sk(service_id))
        if not item:
            raise NotFoundError("service not found")
        return _service(item)

    def list(self, practice_id: str) -> list[ServiceType]:
        items = self._table.query_all(keys.practice_pk(practice_id), prefix=keys.SERVICE_PREFIX)
        return [_service(i) for i in items]

    def update(
        self, practice_id: str, service_id: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> ServiceType:
        current = self.get(practice_id, service_id)
        # Validate the result as a whole before writing (e.g. five modifiers, a bad CPT code).
        merged = _service_item(practice_id, current)
        merged.update({k: list(v) if k == "modifiers" else v for k, v in changes.items()})
        try:
            _service(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRequestError(f"invalid service: {first.get('msg', 'invalid')}") from exc
        item = self._table.patch(
            keys.practice_pk(practice_id),
            keys.service_sk(service_id),
            {k: list(v) if k == "modifiers" else v for k, v in changes.items()},
            expected_version=expected_version,
            what="service",
        )
        return _service(item)

    def set_cancellation_policy(
        self,
        practice_id: str,
        service_id: str,
        override: CancellationPolicyOverride | None,
        practice_policy: CancellationPolicy,
        currency: str,
    ) -> ServiceType:
        """Give the service its own cancellation / no-show terms over the practice's (None: back to
        the practice's). Refused (400, nothing written) when the override does not combine with the
        practice's policy or names a flat fee in another currency."""
        self.get(practice_id, service_id)
        if override is not None:
            merged = merge_policy(practice_policy, override)
            for fee in merged.fees():
                if isinstance(fee, FlatFee) and fee.amount.currency != currency:
                    raise InvalidRequestError(
                        f"flat fees must be in the practice's currency ({currency})",
                        field="cancellation_policy",
                    )
        value = override.model_dump(mode="json", exclude_unset=True) if override is not None else None
        item = self._table.patch(
            keys.practice_pk(practice_id),
            keys.service_sk(service_id),
            {"cancellation_policy": value},
            expected_version=None,
            what="service",
        )
        return _service(item)

    # -- client pricing rules -------------------------------------------------------------------
    def put_rule(
        self,
        practice_id: str,
        client_id: str,
        service: ServiceType,
        *,
        kind: RuleKind,
        amount: int | None,
        percent_bps: int | None,
        by: str,
    ) -> PricingRule:
        """Set (or replace) the client's rule for the service; the caller checked both exist."""
        pk, sk = keys.practice_pk(practice_id), keys.pricing_rule_sk(client_id, service.id)
        previous = self._table.get(pk, sk)
        rule = PricingRule(
            client_id=client_id,
            service_id=service.id,
            kind=kind,
            amount=amount,
            percent_bps=percent_bps,
            currency=service.unit_price.currency,
            updated_at=self._clock(),
            updated_by=by,
            version=(previous["version"] + 1) if previous else 1,
        )
        self._table.put(_rule_item(practice_id, rule))
        return rule

    def get_rule(self, practice_id: str, client_id: str, service_id: str) -> PricingRule | None:
        if not (is_id(client_id, "cli") and is_id(service_id, "svc")):
            return None
        item = self._table.get(keys.practice_pk(practice_id), keys.pricing_rule_sk(client_id, service_id))
        return _rule(item) if item else None

    def delete_rule(self, practice_id: str, client_id: str, service_id: str) -> None:
        try:
            self._table.delete(
                keys.practice_pk(practice_id),
                keys.pricing_rule_sk(client_id, service_id),
                condition="attribute_exists(PK)",
            )
        except ConditionFailed as exc:
            raise NotFoundError("no pricing rule for this client and service") from exc
