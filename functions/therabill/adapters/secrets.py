"""The Therabill secret from Secrets Manager, cached for a few minutes so a rotated webhook
secret is picked up without a redeploy."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill.core.errors import DependencyUnavailableError
from therabill.settings import Secrets, parse_secrets

CACHE_SECONDS = 300


class SecretsProvider:
    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id
        self._value: Secrets | None = None
        self._fetched_at = 0.0

    def get(self) -> Secrets:
        if self._value is None or time.monotonic() - self._fetched_at > CACHE_SECONDS:
            try:
                out = self._client.get_secret_value(SecretId=self._secret_id)
            except (ClientError, BotoCoreError) as exc:
                if self._value is not None:  # keep serving the last good value through an outage
                    return self._value
                raise DependencyUnavailableError("the secret store could not be reached") from exc
            self._value = parse_secrets(out["SecretString"])
            self._fetched_at = time.monotonic()
        return self._value
