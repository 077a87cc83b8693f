"""The sandbox clearinghouse: a small HTTP server that speaks Stedi's API (the paths, bodies,
statuses and error shapes of its raw-X12 eligibility and claims endpoints, transaction polling and
enrollments), so the product's Stedi adapter drives it unchanged. Eligibility is answered by the
sandbox payer (`devstack.sandbox_payer`); everything is kept in memory.

    python -m devstack.sandbox_clearinghouse --port 8430     (make run starts it)

Enrollments move on as they are read: submitted, then provisioning, then live; a payer known by
SBX-REJECT is rejected and one known by SBX-ACTION waits for the provider, each with the
clearinghouse's message. The payer directory (search and one payer) is `devstack.sandbox_payers`.
The API key is checked (any non-empty key unless one is configured).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from devstack import sandbox_enrollments, sandbox_payers
from devstack.sandbox_payer import accept_837, answer_270
from therabill.adapters.http_client import HttpRequest, HttpResponse
from therabill.x12.writer import ControlNumberKind, SequentialControlNumbers

Handler = Callable[[HttpRequest, re.Match[str]], HttpResponse]


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()
    )


def validation(path: str, message: str) -> HttpResponse:
    return reply(
        400,
        {
            "message": f"1 validation error detected. {message}",
            "fieldList": [{"path": path, "message": message}],
        },
    )


class _Numbers:
    """Control numbers shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers = SequentialControlNumbers()

    def next(self, kind: ControlNumberKind) -> int:
        with self._lock:
            return self._numbers.next(kind)


class SandboxStedi:
    """The API as a function of one request (`handle`); the HTTP server and the tests' fake call it."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        download_base: str = "https://artifacts.sandbox.invalid",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api_key = api_key
        self.download_base = download_base.rstrip("/")
        self.now = now
        self.numbers = _Numbers()
        self.lock = threading.Lock()
        self.claims: dict[str, tuple[str, HttpResponse]] = {}  # idempotency key: (body hash, answer)
        self.documents: list[dict[str, Any]] = []  # inbound, oldest first
        self.document_bytes: dict[str, bytes] = {}
        self.providers: dict[str, dict[str, Any]] = {}
        self.enrollments: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, str] = {}  # enrollment id: SBX-REJECT, SBX-ACTION or ""
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r".*/change/medicalnetwork/eligibility/v3/raw-x12"), self._eligibility),
            (
                "POST",
                re.compile(r".*/change/medicalnetwork/professionalclaims/v3/raw-x12-submission"),
                self._claims,
            ),
            ("GET", re.compile(r".*/polling/transactions"), self._polling),
            ("GET", re.compile(r".*/transactions/([^/]+)/input"), self._input),
            ("GET", re.compile(r".*/downloads/([^/]+)"), self._download),
            ("GET", re.compile(r".*/payers/search"), self._search_payers),
            ("GET", re.compile(r".*/payer/([^/]+)"), self._get_payer),
            ("GET", re.compile(r".*/providers"), self._list_providers),
            ("POST", re.compile(r".*/providers"), self._create_provider),
            ("POST", re.compile(r".*/enrollments"), self._create_enrollment),
            ("GET", re.compile(r".*/enrollments"), self._list_enrollments),
            ("GET", re.compile(r".*/enrollments/([^/]+)"), self._get_enrollment),
        ]

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = urlsplit(request.url).path
        if path == "/_local/health":
            return reply(200, {"ok": True})
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                if handler != self._download and (refused := self._refuse_key(request)) is not None:
                    return refused
                with self.lock:
                    return handler(request, match)
        return reply(404, {"message": "Not Found"})

    def _refuse_key(self, request: HttpRequest) -> HttpResponse | None:
        key = {name.lower(): value for name, value in request.headers.items()}.get("authorization", "")
        if not key:
            return reply(401, {"message": "Unauthorized"})
        if self.api_key is not None and key != self.api_key:
            return reply(403, {"message": "Forbidden", "code": "AccessDeniedException"})
        return None

    @staticmethod
    def _json(request: HttpRequest) -> dict[str, Any] | None:
        try:
            body = json.loads(request.body or b"")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    # -- eligibility and claims ------------------------------------------------------------------
    def _eligibility(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        body = self._json(request)
        if body is None or not isinstance(body.get("x12"), str):
            return validation("/x12", "Value at '/x12' failed to satisfy constraint: Member must not be null")
        answer = answer_270(body["x12"].encode(), numbers=self.numbers, now=self.now())
        text = answer.decode()
        if "ST*999*" not in text:
            return reply(200, {"id": f"ec_{uuid4()}", "status": "SUCCESS", "errors": [], "x12": text})
        error = {
            "code": "33",
            "description": "Parse errors: the 270 does not fit the 005010X279A1 layout",
            "followupAction": "Please Correct and Resubmit",
            "location": "270",
            "possibleResolutions": "Verify the request is a valid 270 transaction.",
        }
        return reply(400, {"id": f"ec_{uuid4()}", "status": "ERROR", "errors": [error], "x12": text})

    def _claims(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        key = headers.get("idempotency-key")
        digest = hashlib.sha256(request.body or b"").hexdigest()
        if key is not None and key in self.claims:
            seen, answer = self.claims[key]
            if seen != digest:
                return reply(
                    422,
                    {
                        "code": "RequestChangedException",
                        "message": "The idempotency key was used with a different request",
                    },
                )
            return answer
        answer = self._claim_answer(request)
        if key is not None and answer.status < 500:
            self.claims[key] = (digest, answer)
        return answer

    def _claim_answer(self, request: HttpRequest) -> HttpResponse:
        body = self._json(request)
        if body is None or not isinstance(body.get("x12"), str):
            return validation("/x12", "Value at '/x12' failed to satisfy constraint: Member must not be null")
        acknowledgment = accept_837(body["x12"].encode(), numbers=self.numbers, now=self.now())
        if acknowledgment is None:
            error = {
                "code": "33",
                "description": "The X12 is not an 837P (005010X222A1) interchange",
                "followupAction": "Please Correct and Resubmit",
            }
            return reply(400, {"status": "ERROR", "errors": [error], "httpStatusCode": "400 BAD_REQUEST"})
        correlation = uuid4().hex.upper()[:26]
        self._deliver("999", acknowledgment)
        return reply(
            200,
            {
                "status": "SUCCESS",
                "controlNumber": f"{self.numbers.next(ControlNumberKind.INTERCHANGE):09d}",
                "claimReference": {
                    "correlationId": correlation,
                    "rhclaimNumber": correlation,
                    "formatVersion": "5010",
                },
                "httpStatusCode": "200 OK",
                "meta": {"traceId": str(uuid4())},
            },
        )

    # -- inbound documents -----------------------------------------------------------------------
    def _deliver(self, transaction_set: str, data: bytes, at: datetime | None = None) -> str:
        document_id = str(uuid4())
        processed = at or self.now()
        self.documents.append(
            {
                "direction": "INBOUND",
                "mode": "test",
                "status": "succeeded",
                "transactionId": document_id,
                "processedAt": processed.astimezone(UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "x12": {"metadata": {"transaction": {"transactionSetIdentifier": transaction_set}}},
            }
        )
        self.document_bytes[document_id] = data
        return document_id

    def deliver(self, transaction_set: str, data: bytes, at: datetime | None = None) -> str:
        """Put a document in the inbound list (a payer's 277 or 835, in tests and demos)."""
        with self.lock:
            return self._deliver(transaction_set, data, at)

    def _polling(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        query = {name: values[0] for name, values in parse_qs(urlsplit(request.url).query).items()}
        size = int(float(query.get("pageSize", "100")))
        if not 1 <= size <= 500:
            return validation("/pageSize", "Value must be between 1 and 500")
        if "pageToken" in query:
            start_at = int(query["pageToken"])
            start = None
        elif "startDateTime" in query:
            start_at = 0
            start = datetime.fromisoformat(query["startDateTime"].replace("Z", "+00:00"))
            if start > self.now() - timedelta(minutes=1):
                return reply(400, {"message": "startDateTime must be at least one minute in the past"})
        else:
            return reply(400, {"message": "Either pageToken or startDateTime is required"})
        matching = [d for d in self.documents if start is None or _at(d) > start]
        page = matching[start_at : start_at + size]
        out: dict[str, Any] = {"items": page}
        if start_at + size < len(matching):
            out["nextPageToken"] = str(start_at + size)
        return reply(200, out)

    def _input(self, _: HttpRequest, match: re.Match[str]) -> HttpResponse:
        document_id = match.group(1)
        if document_id not in self.document_bytes:
            return reply(404, {"message": "Transaction not found"})
        url = f"{self.download_base}/downloads/{document_id}"
        return reply(302, {"documentDownloadUrl": url}, {"location": url})

    def _download(self, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
        if any(name.lower() == "authorization" for name in request.headers):
            # A pre-signed URL allows one way of signing only (S3 answers 400 the same way).
            return HttpResponse(
                400, {"content-type": "application/xml"}, b"<Error><Code>InvalidArgument</Code></Error>"
            )
        data = self.document_bytes.get(match.group(1))
        if data is None:
            return HttpResponse(404, {}, b"")
        return HttpResponse(200, {"content-type": "application/edi-x12"}, data)

    # -- the payer directory ---------------------------------------------------------------------
    def _search_payers(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        query = {name: values[0] for name, values in parse_qs(urlsplit(request.url).query).items()}
        return reply(*sandbox_payers.search_answer(query))

    def _get_payer(self, _: HttpRequest, match: re.Match[str]) -> HttpResponse:
        return reply(*sandbox_payers.payer_answer(match.group(1)))

    # -- providers and enrollments ---------------------------------------------------------------
    def _list_providers(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        query = parse_qs(urlsplit(request.url).query)
        npis = set(query.get("providerNpis", [""])[0].split(",")) - {""}
        items = [p for p in self.providers.values() if not npis or p["npi"] in npis]
        return reply(200, {"items": items})

    def _create_provider(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        body = self._json(request) or {}
        if (missing := _missing(body, ("name", "npi", "taxId", "taxIdType"))) is not None:
            return missing
        if body["taxIdType"] not in ("EIN", "SSN"):
            return validation("/taxIdType", "Value must be EIN or SSN")
        provider = {"id": str(uuid4()), **{k: body[k] for k in ("name", "npi", "taxId", "taxIdType")}}
        provider["createdAt"] = self.now().isoformat()
        self.providers[provider["id"]] = provider
        return reply(200, provider)

    def _create_enrollment(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        body = self._json(request) or {}
        if (
            missing := _missing(body, ("payer", "primaryContact", "provider", "transactions", "userEmail"))
        ) is not None:
            return missing
        if (body["provider"] or {}).get("id") not in self.providers:
            return reply(404, {"message": "Provider not found"})
        if len(body["transactions"]) != 1:
            return validation("/transactions", "Exactly one transaction type is allowed")
        status = body.get("status", "DRAFT")
        if status not in ("DRAFT", "STEDI_ACTION_REQUIRED", "SUBMITTED"):
            return validation("/status", "Value must be DRAFT or STEDI_ACTION_REQUIRED")
        payer = str((body["payer"] or {}).get("idOrAlias", ""))
        listed = sandbox_payers.resolve(payer) or {"displayName": "Sandbox payer", "stediId": "SBXPY"}
        enrollment = {
            "id": str(uuid4()),
            "createdAt": self.now().isoformat(),
            "status": "STEDI_ACTION_REQUIRED" if status == "SUBMITTED" else status,
            "payer": {
                "submittedPayerIdOrAlias": payer,
                "name": listed["displayName"],
                "stediPayerId": listed["stediId"],
            },
            "provider": {"id": body["provider"]["id"]},
            "transactions": body["transactions"],
            "userEmail": body["userEmail"],
        }
        self.enrollments[enrollment["id"]] = enrollment
        known = {payer, *listed.get("aliases", [])}
        self.outcomes[enrollment["id"]] = next((o for o in ("SBX-REJECT", "SBX-ACTION") if o in known), "")
        return reply(200, enrollment)

    def _list_enrollments(self, request: HttpRequest, _: re.Match[str]) -> HttpResponse:
        query = parse_qs(urlsplit(request.url).query)
        return reply(*sandbox_enrollments.list_answer(query, self.enrollments, self.providers))

    def _get_enrollment(self, _: HttpRequest, match: re.Match[str]) -> HttpResponse:
        enrollment = self.enrollments.get(match.group(1))
        if enrollment is None:
            return reply(404, {"message": "Enrollment not found"})
        sandbox_enrollments.advance(enrollment, self.outcomes.get(enrollment["id"], ""))
        return reply(200, enrollment)


def _missing(body: dict[str, Any], names: tuple[str, ...]) -> HttpResponse | None:
    name = next((name for name in names if not body.get(name)), None)
    if name is None:
        return None
    return validation(f"/{name}", f"Value at '/{name}' failed to satisfy constraint: Member must not be null")


def _at(document: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(document["processedAt"]).replace("Z", "+00:00"))


class _RequestHandler(BaseHTTPRequestHandler):
    app: SandboxStedi

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        url = f"http://{self.headers.get('host', 'localhost')}{self.path}"
        answer = self.app.handle(HttpRequest(self.command, url, dict(self.headers.items()), body))
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines may hold ids."""


def make_server(
    host: str, port: int, *, api_key: str | None = None
) -> tuple[ThreadingHTTPServer, SandboxStedi]:
    """A server on (host, port) (port 0: a free one); the app is returned for tests and demos."""
    server = ThreadingHTTPServer((host, port), _RequestHandler)
    app = SandboxStedi(api_key=api_key, download_base=f"http://{host}:{server.server_address[1]}")
    server.RequestHandlerClass = type("Handler", (_RequestHandler,), {"app": app})
    server.daemon_threads = True
    return server, app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8430)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    server, _ = make_server(args.host, args.port, api_key=args.api_key)
    server.serve_forever()


if __name__ == "__main__":
    main()
