import json

import pytest
from botocore.exceptions import EndpointConnectionError

from therabill.adapters import secrets as secrets_module
from therabill.adapters.secrets import SecretsProvider
from therabill.core.errors import DependencyUnavailableError

GOOD = {
    "stripe_secret_key": "sk_test_x",
    "stripe_publishable_key": "pk_test_x",
    "stripe_webhook_secrets": "whsec_only",
    "link_signing_key": "k" * 40,
}


class FlakySecretsManager:
    def __init__(self) -> None:
        self.calls = 0
        self.down = False

    def get_secret_value(self, SecretId: str) -> dict:
        self.calls += 1
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://secretsmanager")
        return {"SecretString": json.dumps(GOOD)}


def test_the_secret_is_cached_and_a_single_webhook_secret_becomes_a_list(monkeypatch):
    client = FlakySecretsManager()
    provider = SecretsProvider(client, "arn:secret")
    assert provider.get().stripe_webhook_secrets == ["whsec_only"]
    provider.get()
    assert client.calls == 1


def test_an_outage_serves_the_last_good_value_or_says_unavailable(monkeypatch):
    client = FlakySecretsManager()
    client.down = True
    with pytest.raises(DependencyUnavailableError):
        SecretsProvider(client, "arn:secret").get()
    client.down = False
    provider = SecretsProvider(client, "arn:secret")
    provider.get()
    client.down = True
    monkeypatch.setattr(secrets_module, "CACHE_SECONDS", -1)  # force a refresh
    assert provider.get().stripe_secret_key == "sk_test_x"
