"""Service types and client pricing rules, inside one practice's partition."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from therabill.core.clock import Clock
from therabill.core.errors import InvalidRequestError
from therabill.core.ids import is_id, new_id
from therabill.core.money import Money
from therabill.policies.policy import (
    CancellationPolicy,
    CancellationPolicyOverride,
    FlatFee,
    merge_policy,
)
from therabill.services.errors import ServiceNotFoundError
from therabill.services.models import PricingRule, RuleKind, ServiceType
from therabill.services.store import ServiceStore


class ServiceCatalog:
    def __init__(self, *, store: ServiceStore, clock: Clock) -> None:
        self._store = store
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
        self._store.create(practice_id, service)
        return service

    def get(self, practice_id: str, service_id: str) -> ServiceType:
        if not is_id(service_id, "svc"):
            raise ServiceNotFoundError("service not found")
        return self._store.get(practice_id, service_id)

    def list(self, practice_id: str) -> list[ServiceType]:
        return self._store.list(practice_id)

    def update(
        self, practice_id: str, service_id: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> ServiceType:
        current = self.get(practice_id, service_id)
        # Validate the result as a whole before writing (e.g. five modifiers, a bad CPT code).
        try:
            self._store.with_changes(practice_id, current, changes)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRequestError(f"invalid service: {first.get('msg', 'invalid')}") from exc
        return self._store.update(practice_id, service_id, changes, expected_version=expected_version)

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
        return self._store.update(
            practice_id, service_id, {"cancellation_policy": value}, expected_version=None
        )

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
        previous = self._store.get_rule(practice_id, client_id, service.id)
        rule = PricingRule(
            client_id=client_id,
            service_id=service.id,
            kind=kind,
            amount=amount,
            percent_bps=percent_bps,
            currency=service.unit_price.currency,
            updated_at=self._clock(),
            updated_by=by,
            version=(previous.version + 1) if previous else 1,
        )
        self._store.put_rule(practice_id, rule)
        return rule

    def get_rule(self, practice_id: str, client_id: str, service_id: str) -> PricingRule | None:
        if not (is_id(client_id, "cli") and is_id(service_id, "svc")):
            return None
        return self._store.get_rule(practice_id, client_id, service_id)

    def delete_rule(self, practice_id: str, client_id: str, service_id: str) -> None:
        self._store.delete_rule(practice_id, client_id, service_id)
