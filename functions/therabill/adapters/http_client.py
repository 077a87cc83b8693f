"""A small JSON-over-HTTPS client on the standard library: one request, a timeout, bounded retries
with exponential backoff on 429 and 5xx (and on a dropped connection where the caller says the
request may be repeated), redirects never followed (a redirect's target gets no credentials).

The transport is a function, so tests plug in a fake at the HTTP boundary and nothing else changes.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        """The body as JSON; {} when it is empty or not JSON (an error page from a proxy)."""
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return {}


class TransportError(Exception):
    """The request got no answer: connection refused or reset, DNS, or the timeout."""


Transport = Callable[[HttpRequest, float], HttpResponse]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx comes back as a response


_OPENER = urllib.request.build_opener(_NoRedirect)


def urllib_transport(request: HttpRequest, timeout: float) -> HttpResponse:
    if not request.url.startswith(("https://", "http://")):
        raise TransportError("only http(s) URLs")
    raw = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        request.url, data=request.body, headers=dict(request.headers), method=request.method
    )
    try:
        with _OPENER.open(raw, timeout=timeout) as answer:
            headers = {name.lower(): value for name, value in answer.headers.items()}
            return HttpResponse(answer.status, headers, answer.read())
    except urllib.error.HTTPError as error:
        headers = {name.lower(): value for name, value in error.headers.items()}
        return HttpResponse(error.code, headers, error.read())
    except (urllib.error.URLError, OSError) as error:  # TimeoutError is an OSError
        raise TransportError(type(error).__name__) from None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3  # in all, the first included
    backoff_seconds: float = 0.5  # before the 2nd attempt; doubled each time
    longest_wait: float = 8.0  # a Retry-After above this is cut to it


class RetryingClient:
    def __init__(
        self,
        transport: Transport | None = None,
        *,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._transport = transport or urllib_transport
        self._timeout = timeout_seconds
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    def send(self, request: HttpRequest, *, repeatable: bool = True) -> HttpResponse:
        """The first answer that is not 429/5xx, or the last one; a dropped connection is tried
        again only when `repeatable` (an idempotency key or a read), else `TransportError` rises."""
        attempt = 1
        while True:
            try:
                response = self._transport(request, self._timeout)
            except TransportError:
                if not repeatable or attempt >= self._retry.attempts:
                    raise
                self._sleep(self._wait(attempt, None))
                attempt += 1
                continue
            if response.status not in RETRIED_STATUSES or attempt >= self._retry.attempts:
                return response
            if response.status != 429 and not repeatable:
                return response
            self._sleep(self._wait(attempt, response.headers.get("retry-after")))
            attempt += 1

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        wait = self._retry.backoff_seconds * 2 ** (attempt - 1)
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep our own backoff
                wait = max(wait, float(retry_after))
        return float(min(wait, self._retry.longest_wait))
