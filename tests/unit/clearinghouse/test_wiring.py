"""The container picks the clearinghouse from the settings: the sandbox's URL locally, Stedi in AWS."""

from __future__ import annotations

import json

import pytest

from therabill.clearinghouse.errors import ClearinghouseUnavailableError
from therabill.settings import Secrets, Settings, load_settings, parse_secrets
from therabill.wiring import Container

SECRETS = {
    "stripe_secret_key": "sk_test_x",
    "stripe_publishable_key": "pk_test_x",
    "stripe_webhook_secrets": ["whsec_x"],
    "link_signing_key": "k" * 32,
}


def container(url: str | None, stedi_key: str = "") -> Container:
    settings = Settings(table_name="table", secrets_arn="arn", clearinghouse_url=url)
    return Container(settings, clients=lambda name: None, secrets=Secrets(**SECRETS, stedi_api_key=stedi_key))


def test_locally_the_sandbox_url_serves_every_stedi_api() -> None:
    clearinghouse = container("http://127.0.0.1:8430").clearinghouse
    endpoints = clearinghouse._endpoints  # type: ignore[attr-defined]
    assert endpoints.healthcare == "http://127.0.0.1:8430/healthcare"
    assert endpoints.core == "http://127.0.0.1:8430/core"
    assert clearinghouse._api_key() == "sandbox"  # type: ignore[attr-defined]


def test_in_aws_stedi_itself_with_the_key_from_the_secret() -> None:
    clearinghouse = container(None, stedi_key="stedi_live_key").clearinghouse
    assert clearinghouse._endpoints.healthcare == "https://healthcare.us.stedi.com/2024-04-01"  # type: ignore[attr-defined]
    assert clearinghouse._api_key() == "stedi_live_key"  # type: ignore[attr-defined]


def test_without_a_key_stedi_is_unavailable_not_called() -> None:
    clearinghouse = container(None).clearinghouse
    with pytest.raises(ClearinghouseUnavailableError):
        clearinghouse._api_key()  # type: ignore[attr-defined]


def test_the_settings_and_the_secret_carry_the_new_fields() -> None:
    environ = {
        "THERABILL_TABLE_NAME": "table",
        "THERABILL_SECRETS_ARN": "arn",
        "THERABILL_CLEARINGHOUSE_URL": "http://x",
    }
    assert load_settings(environ).clearinghouse_url == "http://x"
    assert parse_secrets(json.dumps({**SECRETS, "stedi_api_key": "abc"})).stedi_api_key == "abc"
    assert parse_secrets(json.dumps(SECRETS)).stedi_api_key == ""
