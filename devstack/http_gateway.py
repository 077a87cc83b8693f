"""The local API Gateway: HTTP requests in, API Gateway REST proxy events to the Lambda handlers.

Routing mirrors the deployed REST API (``therabill.contract``):

- ``STAFF_API_PREFIXES`` -> the ``staff-api`` function, behind the Cognito authorizer, which this
  server plays: ``Authorization: Bearer <ID token>`` (or the bare token, as Cognito accepts) is
  verified with :mod:`devstack.local_auth` and its claims go to ``requestContext.authorizer.claims``;
  a missing or bad token is answered 401 ``{"code": "unauthorized", "message": "Unauthorized",
  "details": {}}`` without calling the function, as API Gateway does (its gateway response gives
  the same body). CORS preflights (OPTIONS) pass without a token.
- ``PUBLIC_API_PREFIXES`` -> the ``public-api`` function (it authenticates requests itself).
- ``POST WEBHOOK_PATH`` -> the ``stripe-webhook`` function; the body reaches it byte for byte.
- anything else (and a method API Gateway's ``ANY`` does not cover, e.g. TRACE) -> 404
  ``{"code": "not_found", "message": "no route for GET /nowhere: ...", "details": {"method",
  "path"}}``, as API Gateway's gateway response for an unknown route answers.

The event is built by :func:`devstack.apigw.rest_event` (the same builder the integration tests
use) with the raw body, every header (repeated headers in ``multiValueHeaders``), the query string
and the client's IP as ``sourceIp``. The function's ``statusCode``/``headers``/``multiValueHeaders``
/``body`` (base64-decoded when ``isBase64Encoded``) become the HTTP response; a function that raises
or returns a malformed response gives 502 ``{"message": "Internal server error"}``, as API Gateway.

Local-only endpoints (never deployed):

- ``GET  /_local/health``                      -> ``{"status": "ok", ...}``
- ``GET  /_local/emails[?to=addr]``            -> mail sent through the emulated SES (JSON list)
- ``GET  /_local/schedules``                   -> schedules the local scheduler knows, next times
- ``POST /_local/schedules/{name}/fire``       -> fire a schedule's target now
- ``POST /_local/token`` ``{"practice_id", "role", "email", "sub", "ttl"}`` -> a staff ID token
  (``{"token": ...}``) for the practice's staff member with that email, made (invited) if there
  is none (devstack/local_staff.py: their own role and sub); a body it cannot use, or a disabled
  or removed member -> 400 ``{"code": "invalid_request", "message",
  "details": {"field"}}`` naming the field and what it takes
- ``POST /_local/sign-in`` ``{"email", "password", "new_password"?}`` -> a staff ID token from the
  local user pool (``{"token": ...}``), its claims the user's own attributes; a first sign-in with
  the emailed temporary password needs ``new_password`` (409 ``new_password_required`` without);
  a wrong email or password -> 401
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack import apigw, local_auth
from devstack.apigw import NO_ROUTE_STATUS, no_route_body, route_for
from devstack.functions import FunctionNotFoundError, FunctionRegistry, HandlerUnavailableError
from therabill import contract

log = logging.getLogger("devstack.http_gateway")

_FIRE = re.compile(r"^/_local/schedules/([A-Za-z0-9_.-]+)/fire$")
# API Gateway's REST payload limit: a larger request never reaches a function. The functions set
# their own, smaller limits (therabill.api.bodies, therabill.webhooks.receiver).
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip() or None
    return header.strip() if not rest else None


class LocalServices:
    """What the ``/_local/`` endpoints reach: emails, the scheduler, the local sign-in (each
    optional)."""

    def __init__(
        self,
        *,
        emails: Callable[[str | None], list[dict[str, Any]]] | None = None,
        scheduler: Any = None,
        info: dict[str, Any] | None = None,
        sign_in: local_auth.SignIn | None = None,
        password_sign_in: Callable[[bytes | None], str] | None = None,
    ) -> None:
        self.emails = emails
        self.sign_in = sign_in  # who a minted token is (devstack/local_staff.py); None: as asked
        self.password_sign_in = password_sign_in  # local_auth.sign_in bound to the user pool
        self.scheduler = scheduler
        self.info = dict(info or {})


class _Handler(BaseHTTPRequestHandler):
    server: _GatewayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # one entry point for every method
    def _dispatch(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        path = url.path or "/"
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_PAYLOAD_BYTES:  # answered unread, so the connection closes
            self.close_connection = True
            if length < 0:
                self._send(*_json(400, {"message": "Bad Request"}))
            else:
                self._send(*_json(413, {"message": "Request Too Long"}))
            return
        body = self.rfile.read(length) if length > 0 else None
        try:
            if path.startswith("/_local/"):
                status, headers, payload = self._local(path, url.query, body)
            else:
                status, headers, payload = self._proxy(path, url.query, body)
        except Exception:  # the gateway itself must never die on a request
            log.exception("gateway error on %s %s", self.command, path)
            status, headers, payload = _json(502, {"message": "Internal server error"})
        self._send(status, headers, payload)
        log.debug("%s %s -> %d in %.0f ms", self.command, path, status, (time.monotonic() - started) * 1000)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY, ...) is answered too: no route takes it (as in AWS)."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    # ------------------------------------------------------------------ API Gateway proxy
    def _proxy(self, path: str, query: str, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
        function = route_for(self.command, path)
        if function is None:
            return _json(NO_ROUTE_STATUS, no_route_body(self.command, path))
        headers = {name: value for name, value in self.headers.items()}
        headers.setdefault("X-Forwarded-For", self.client_address[0])
        headers.setdefault("X-Forwarded-Proto", "http")
        headers.setdefault("X-Forwarded-Port", str(self.server.server_address[1]))
        claims = None
        if function == apigw.STAFF_FUNCTION and self.command != "OPTIONS":
            token = bearer_token(self.headers.get("Authorization"))
            try:
                verified = local_auth.verify(token or "")
            except local_auth.InvalidTokenError as exc:
                message = "The incoming token has expired" if exc.expired else "Unauthorized"
                body = {"code": contract.UNAUTHORIZED_CODE, "message": message, "details": {}}
                return _json(401, body, [("WWW-Authenticate", 'Bearer error="invalid_token"')])
            claims = local_auth.authorizer_claims(verified)
        event = apigw.rest_event(
            self.command,
            path,
            body=body,
            headers=headers,
            query=query,
            claims=claims,
            source_ip=self.client_address[0],
        )
        multi: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            multi.setdefault(name, []).append(value)
        for name in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port"):
            multi.setdefault(name, [headers[name]])
        event["multiValueHeaders"] = multi or None
        try:
            result = self.server.registry.invoke(function, event)
        except (HandlerUnavailableError, FunctionNotFoundError) as exc:
            log.error("%s is not available: %s", function, exc)
            return _json(502, {"message": "Internal server error", "local": str(exc)})
        except Exception:
            log.exception("%s raised on %s %s", function, self.command, path)
            return _json(502, {"message": "Internal server error"})
        return _proxy_response(function, result)

    # ------------------------------------------------------------------ local endpoints
    def _local(self, path: str, query: str, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
        services = self.server.services
        method = self.command
        if path == "/_local/health" and method in ("GET", "HEAD"):
            return _json(200, {"status": "ok", **services.info})
        if path == "/_local/emails" and method == "GET":
            if services.emails is None:
                return _json(503, {"message": "no mailbox configured"})
            to = parse_qs(query).get("to", [None])[-1]
            return _json(200, services.emails(to))
        if path == "/_local/schedules" and method == "GET":
            if services.scheduler is None:
                return _json(503, {"message": "no scheduler running"})
            return _json(200, services.scheduler.snapshot())
        if (match := _FIRE.match(path)) and method == "POST":
            if services.scheduler is None:
                return _json(503, {"message": "no scheduler running"})
            from devstack.scheduler import ScheduleNotFoundError

            try:
                return _json(200, services.scheduler.fire_now(match.group(1)))
            except ScheduleNotFoundError:
                return _json(404, {"message": f"no schedule {match.group(1)}"})
            except Exception as exc:
                log.exception("firing %s failed", match.group(1))
                return _json(500, {"message": f"{type(exc).__name__}: {exc}"})
        if path == "/_local/token" and method == "POST":
            try:
                token = local_auth.token_for_request(body, services.sign_in)
            except local_auth.TokenRequestError as exc:
                problem = {"code": "invalid_request", "message": str(exc), "details": {"field": exc.field}}
                return _json(400, problem)
            return _json(200, {"token": token})
        if path == "/_local/sign-in" and method == "POST":
            return self._sign_in(body)
        return _json(404, no_route_body(method, path))

    def _sign_in(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
        sign_in = self.server.services.password_sign_in
        if sign_in is None:
            return _json(503, {"message": "no user pool configured"})
        try:
            return _json(200, {"token": sign_in(body)})
        except local_auth.TokenRequestError as exc:
            problem = {"code": "invalid_request", "message": str(exc), "details": {"field": exc.field}}
            return _json(400, problem)
        except local_auth.SignInRefusedError as exc:
            return _json(exc.status, {"code": exc.code, "message": exc.message, "details": {}})


def _json(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps(payload, default=str).encode()
    return status, [("Content-Type", "application/json"), *(headers or [])], body


def _proxy_response(function: str, result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A Lambda proxy integration response as API Gateway turns it into HTTP."""
    if not isinstance(result, dict) or "statusCode" not in result:
        log.error("%s returned a malformed proxy response: %r", function, result)
        return _json(502, {"message": "Internal server error"})
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        log.error("%s returned a bad statusCode %r", function, result.get("statusCode"))
        return _json(502, {"message": "Internal server error"})
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for name, value in (result.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, str(value)))
    for name, values in multi.items():
        headers.extend((name, str(v)) for v in values or [])
    raw = result.get("body")
    if raw is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(raw)
    else:
        payload = str(raw).encode("utf-8")
    return status, headers, payload


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], registry: FunctionRegistry, services: LocalServices) -> None:
        super().__init__(address, _Handler)
        self.registry = registry
        self.services = services

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser dropping a kept-alive connection is normal; anything else is logged."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionResetError | BrokenPipeError):
            return
        log.exception("local gateway: error while serving %s", client_address)


class HttpGateway:
    """The local API Gateway on ``host:port`` (port 0: any free port), served on a thread."""

    def __init__(
        self,
        registry: FunctionRegistry,
        services: LocalServices | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        public_host: str = "localhost",
    ) -> None:
        self._server = _GatewayServer((host, port), registry, services or LocalServices())
        self._thread: threading.Thread | None = None
        self._public_host = public_host

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._public_host}:{self.port}"

    @property
    def services(self) -> LocalServices:
        return self._server.services

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="http-gateway",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
