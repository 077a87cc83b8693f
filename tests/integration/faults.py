"""Faults the integration world can inject at its boundaries, installed when the world is built
(no test reaches into a service's private parts): the DynamoDB client and the email transport."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class FailingDynamo:
    """Wraps the DynamoDB client: the next ``times`` calls of ``operation`` fail with ``code``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.plan: dict[str, tuple[str, int]] = {}

    def fail(
        self, operation: str, code: str = "ProvisionedThroughputExceededException", times: int = 1
    ) -> None:
        self.plan[operation] = (code, times)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self.plan or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            code, times = self.plan[name]
            if times > 0:
                self.plan[name] = (code, times - 1)
                raise ClientError({"Error": {"Code": code, "Message": "injected"}}, name)
            return attr(*args, **kwargs)

        return call


class FaultyTransport:
    """Wraps the email transport: the next ``times`` sends fail as an unreachable SES would."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._failures = 0

    def fail_next(self, times: int = 1) -> None:
        self._failures = times

    def send_raw(self, **kwargs: Any) -> str:
        if self._failures > 0:
            self._failures -= 1
            raise ConnectionError("SES unreachable")
        return str(self._inner.send_raw(**kwargs))
