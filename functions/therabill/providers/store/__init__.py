"""Provider items: the practice's billing provider (``P#<prc>`` / ``BILLINGPROVIDER``)."""

from __future__ import annotations

from typing import Any

from therabill.adapters.dynamo import ConditionFailed, Table
from therabill.core import keys
from therabill.core.clock import iso, parse_iso
from therabill.providers.errors import ProviderChangedError
from therabill.providers.models import BillingProviderRecord, parse_billing_provider


def _from_item(item: dict[str, Any]) -> BillingProviderRecord:
    return BillingProviderRecord(
        provider=parse_billing_provider(item["provider"]),
        version=int(item["version"]),
        updated_at=parse_iso(item["updated_at"]),
        updated_by=item["updated_by"],
    )


class ProviderStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def billing_provider(self, practice_id: str) -> BillingProviderRecord | None:
        item = self.table.get(keys.practice_pk(practice_id), keys.BILLING_PROVIDER_SK)
        return _from_item(item) if item else None

    def put_billing_provider(
        self, practice_id: str, record: BillingProviderRecord, *, expected_version: int | None
    ) -> None:
        """Write the record, on condition the stored one is still ``expected_version`` (None: none
        stored yet); ProviderChangedError when someone changed it meanwhile."""
        item: dict[str, Any] = {
            "PK": keys.practice_pk(practice_id),
            "SK": keys.BILLING_PROVIDER_SK,
            "type": "billing_provider",
            "provider": record.provider.model_dump(mode="json"),
            "version": record.version,
            "updated_at": iso(record.updated_at),
            "updated_by": record.updated_by,
        }
        if expected_version is None:
            condition, values = "attribute_not_exists(PK)", None
        else:
            condition, values = "version = :v", {":v": expected_version}
        try:
            self.table.put(item, condition=condition, values=values)
        except ConditionFailed as exc:
            raise ProviderChangedError(expected_version) from exc
