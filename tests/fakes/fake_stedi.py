"""A fake of Stedi's HTTP API at the transport boundary, for the Stedi adapter's tests.

    fake = FakeStedi()
    stedi = StediClearinghouse(lambda: fake.api_key, client=RetryingClient(fake.transport, sleep=fake.sleep))

It answers as Stedi's API reference shows (the raw-X12 eligibility and professional claims
endpoints, transaction polling and download, providers and enrollments; their bodies, statuses
and error shapes): the answering itself is the sandbox clearinghouse's (`devstack.sandbox_clearinghouse`,
the same API served locally), so the fake and the local system cannot drift apart. On top it adds:
- the key: no Authorization header is 401, a wrong one 403 (AccessDeniedException);
- faults: ``fail_next(n, kind)`` with kinds "400" (a validation error naming a field), "429"
  (ThrottlingException, Retry-After), "500", "503", "504" (their documented bodies) and "timeout"
  (no answer at all), optionally only for requests whose method and URL contain a given text;
- every request recorded in ``requests`` (method, URL, headers, body), and the waits the adapter
  asked for in ``slept``.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import UTC, datetime

from devstack.sandbox_clearinghouse import SandboxStedi

from therabill.adapters.http_client import HttpRequest, HttpResponse, TransportError

FAULT_BODIES = {
    "400": (
        400,
        {
            "message": "1 validation error detected. The payer has no such zip code",
            "fieldList": [{"path": "/primaryContact/zipCode", "message": "The payer has no such zip code"}],
        },
    ),
    "429": (429, {"message": "Too Many Requests", "code": "ThrottlingException"}),
    "500": (500, {"message": "Internal server error", "code": "InternalFailureException"}),
    "503": (503, {"message": "Service Unavailable", "code": "ServiceUnavailableException"}),
    "504": (504, {"message": "Endpoint request timed out", "code": "GatewayTimeoutException"}),
}


class FakeStedi:
    def __init__(self, api_key: str = "test_stedi_key", *, now: datetime | None = None) -> None:
        self.api_key = api_key
        fixed = now
        self.app = SandboxStedi(
            api_key=api_key,
            download_base="https://stedi-core-artifacts.s3.amazonaws.com",
            now=(lambda: fixed) if fixed is not None else (lambda: datetime.now(UTC)),
        )
        self.requests: list[HttpRequest] = []
        self.timeouts: list[float] = []
        self.slept: list[float] = []
        self._faults: deque[tuple[str, str]] = deque()

    def fail_next(self, count: int, kind: str, *, only: str = "") -> None:
        """The next `count` requests (those whose "METHOD URL" contains `only`) fail with `kind`."""
        self._faults.extend([(kind, only)] * count)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def transport(self, request: HttpRequest, timeout: float) -> HttpResponse:
        self.requests.append(request)
        self.timeouts.append(timeout)
        if self._faults and self._faults[0][1] in f"{request.method} {request.url}":
            kind, _ = self._faults.popleft()
            if kind == "timeout":
                raise TransportError("TimeoutError")
            status, body = FAULT_BODIES[kind]
            headers = {"content-type": "application/json"}
            if status == 429:
                headers["retry-after"] = "1"
            return HttpResponse(status, headers, json.dumps(body).encode())
        return self.app.handle(request)

    def paths(self) -> list[str]:
        return [request.url.split("?")[0].split("/", 3)[-1] for request in self.requests]
