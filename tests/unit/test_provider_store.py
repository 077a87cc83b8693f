"""The practice's billing provider behind its store: written once, replaced only from the version
read, read back as the same model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from devstack.resources import table_definition
from moto import mock_aws

from tests.unit.test_provider_models import organization
from therabill.adapters.dynamo import Table
from therabill.providers.errors import ProviderChangedError
from therabill.providers.models import parse_billing_provider
from therabill.providers.service import ProviderService
from therabill.providers.store import ProviderStore

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(dynamodb_client: Any) -> Iterator[ProviderService]:
    with mock_aws():
        dynamodb_client.create_table(**table_definition("providers"))
        store = ProviderStore(Table(dynamodb_client, "providers"))
        yield ProviderService(store=store, clinicians=cast(Any, None), clock=lambda: NOW)  # billing only


def test_a_practice_has_no_billing_provider_until_one_is_set(service: ProviderService) -> None:
    assert service.billing_provider("prc_1") is None
    provider = parse_billing_provider(organization())
    record = service.set_billing_provider("prc_1", provider, by="stf_owner", expected_version=None)
    assert record.version == 1
    assert service.billing_provider("prc_1") == provider
    assert service.billing_provider("prc_2") is None  # another practice's partition
    stored = service.billing_provider_record("prc_1")
    assert stored is not None and (stored.updated_by, stored.updated_at) == ("stf_owner", NOW)


def test_a_change_is_made_from_the_version_read_and_never_over_another(service: ProviderService) -> None:
    first = parse_billing_provider(organization())
    service.set_billing_provider("prc_1", first, by="stf_a", expected_version=None)
    with pytest.raises(ProviderChangedError):  # made meanwhile by someone else
        service.set_billing_provider("prc_1", first, by="stf_b", expected_version=None)
    renamed = parse_billing_provider(organization(organization_name="Bright Steps Therapy Group"))
    assert service.set_billing_provider("prc_1", renamed, by="stf_b", expected_version=1).version == 2
    with pytest.raises(ProviderChangedError):  # a stale version
        service.set_billing_provider("prc_1", first, by="stf_a", expected_version=1)
    assert service.billing_provider("prc_1") == renamed
