"""The local API Gateway over real HTTP, with stand-in handlers (no emulators needed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from devstack.functions import FunctionRegistry, HandlerUnavailableError, import_handler
from devstack.http_gateway import HttpGateway, LocalServices, bearer_token, route_for

from devstack import local_auth
from therabill import contract


class Recorder:
    """A stand-in Lambda handler: remembers events, answers what it is told."""

    def __init__(self, response: Any = None, error: Exception | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.response = response if response is not None else {"statusCode": 200, "body": "ok"}
        self.error = error

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        if self.error is not None:
            raise self.error
        return self.response


class FakeScheduler:
    def __init__(self) -> None:
        self.fired: list[str] = []

    def snapshot(self) -> list[dict[str, Any]]:
        return [{"name": "nightly"}]

    def fire_now(self, name: str) -> dict[str, Any]:
        from devstack.scheduler import ScheduleNotFoundError

        if name != "nightly":
            raise ScheduleNotFoundError(name)
        self.fired.append(name)
        return {"schedule": name, "result": {"ok": True}}


@pytest.fixture
def handlers() -> dict[str, Recorder]:
    return {"staff-api": Recorder(), "public-api": Recorder(), "stripe-webhook": Recorder()}


@pytest.fixture
def gateway(handlers: dict[str, Recorder]) -> Iterator[HttpGateway]:
    services = LocalServices(
        emails=lambda to: [{"to": [to or "all"], "subject": "hi"}],
        scheduler=FakeScheduler(),
        info={"stack": "test"},
    )
    gw = HttpGateway(FunctionRegistry(handlers), services, port=0)
    gw.start()
    yield gw
    gw.stop()


def test_health(gateway: HttpGateway) -> None:
    response = requests.get(f"{gateway.url}/_local/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stack": "test"}


def test_an_unknown_route_is_a_404_naming_the_method_and_path(
    gateway: HttpGateway, handlers: dict[str, Recorder]
) -> None:
    response = requests.get(f"{gateway.url}/nowhere?x=1", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found"
    assert "GET /nowhere" in body["message"]
    assert body["details"] == {"method": "GET", "path": "/nowhere"}
    # the webhook route only takes POST
    webhook = requests.get(f"{gateway.url}{contract.WEBHOOK_PATH}", timeout=5)
    assert webhook.status_code == 404 and webhook.json()["details"]["path"] == contract.WEBHOOK_PATH
    # a method API Gateway's ANY does not cover meets no route, even under a served prefix
    traced = requests.request("TRACE", f"{gateway.url}/practice", timeout=5)
    assert traced.status_code == 404 and traced.json()["details"] == {"method": "TRACE", "path": "/practice"}
    assert all(h.events == [] for h in handlers.values())


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-jwt", "Basic abc"])
def test_staff_routes_need_a_valid_token(
    gateway: HttpGateway, handlers: dict[str, Recorder], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(f"{gateway.url}/practice", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message": "Unauthorized", "details": {}}
    assert handlers["staff-api"].events == []


def test_expired_and_foreign_tokens_are_refused(gateway: HttpGateway) -> None:
    expired = local_auth.issue_token("prc_x", ttl=-10)
    response = requests.get(
        f"{gateway.url}/practice", headers={"Authorization": f"Bearer {expired}"}, timeout=5
    )
    assert response.status_code == 401
    assert response.json()["message"] == "The incoming token has expired"
    foreign = local_auth.issue_token("prc_x", key="some-other-key-of-at-least-32-bytes!!")
    response = requests.get(
        f"{gateway.url}/practice", headers={"Authorization": f"Bearer {foreign}"}, timeout=5
    )
    assert response.status_code == 401


def test_staff_request_becomes_a_rest_proxy_event_with_claims(
    gateway: HttpGateway, handlers: dict[str, Recorder]
) -> None:
    token = local_auth.issue_token("prc_abc", "biller", sub="user-1", email="b@p.localhost")
    response = requests.post(
        f"{gateway.url}/practice/stripe/connect?x=1&x=2&y=",
        data=b'{"a": 1}',
        timeout=5,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    event = handlers["staff-api"].events[-1]
    assert event["httpMethod"] == "POST"
    assert event["path"] == "/practice/stripe/connect"
    assert event["resource"] == "/practice/{proxy+}"
    assert event["pathParameters"] == {"proxy": "stripe/connect"}
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    claims = event["requestContext"]["authorizer"]["claims"]
    assert claims[contract.CLAIM_PRACTICE_ID] == "prc_abc"
    assert claims[contract.CLAIM_ROLE] == "biller"
    assert claims[contract.CLAIM_SUBJECT] == "user-1"
    assert claims[contract.CLAIM_EMAIL] == "b@p.localhost"
    assert all(isinstance(v, str) for v in claims.values())
    assert event["headers"]["Content-Type"] == "application/json"


def test_bare_token_is_accepted_like_cognito(gateway: HttpGateway) -> None:
    token = local_auth.issue_token("prc_abc")
    response = requests.get(f"{gateway.url}/clients", headers={"Authorization": token}, timeout=5)
    assert response.status_code == 200


def test_public_routes_need_no_token(gateway: HttpGateway, handlers: dict[str, Recorder]) -> None:
    response = requests.get(f"{gateway.url}/pay/inv_1?code=abc", timeout=5)
    assert response.status_code == 200
    event = handlers["public-api"].events[-1]
    assert event["resource"] == "/pay/{proxy+}"
    assert "authorizer" not in event["requestContext"]


def test_webhook_body_arrives_byte_exact(gateway: HttpGateway, handlers: dict[str, Recorder]) -> None:
    # Given a payload with non-ASCII text, CRLF and odd spacing, signed like Stripe signs
    payload = '{\r\n  "id": "evt_1",  "name": "Zo\u00eb \u2013 na\u00efve"\n}'.encode()
    timestamp = int(time.time())
    signature = hmac.new(b"whsec_x", f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    response = requests.post(
        f"{gateway.url}{contract.WEBHOOK_PATH}",
        data=payload,
        timeout=5,
        headers={
            "Stripe-Signature": f"t={timestamp},v1={signature}",
            "Content-Type": "application/json; charset=utf-8",
        },
    )
    assert response.status_code == 200
    event = handlers["stripe-webhook"].events[-1]
    received = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode("utf-8")
    assert received == payload
    expected = hmac.new(b"whsec_x", f"{timestamp}.".encode() + received, hashlib.sha256).hexdigest()
    assert expected == signature


def test_binary_body_is_base64_encoded(gateway: HttpGateway, handlers: dict[str, Recorder]) -> None:
    payload = bytes(range(256))
    requests.post(f"{gateway.url}/setup/x", data=payload, timeout=5)
    event = handlers["public-api"].events[-1]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_proxy_response_headers_and_base64_body(gateway: HttpGateway, handlers: dict[str, Recorder]) -> None:
    handlers["public-api"].response = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/pdf", "X-One": "1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": base64.b64encode(b"%PDF-1.7 \x00\xff").decode(),
        "isBase64Encoded": True,
    }
    response = requests.get(f"{gateway.url}/pay/x", timeout=5)
    assert response.status_code == 201
    assert response.content == b"%PDF-1.7 \x00\xff"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-One"] == "1"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


@pytest.mark.parametrize(
    "outcome",
    [{"error": RuntimeError("boom")}, {"response": {"body": "x"}}, {"response": {"statusCode": "nope"}}],
)
def test_failing_or_malformed_function_is_a_502(
    gateway: HttpGateway, handlers: dict[str, Recorder], outcome: dict[str, Any]
) -> None:
    handlers["public-api"].error = outcome.get("error")
    handlers["public-api"].response = outcome.get("response", {"statusCode": 200})
    response = requests.get(f"{gateway.url}/pay/x", timeout=5)
    assert response.status_code == 502
    assert response.json()["message"] == "Internal server error"


def test_repeated_headers_reach_multi_value_headers(
    gateway: HttpGateway, handlers: dict[str, Recorder]
) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    connection.putrequest("GET", "/pay/x")
    connection.putheader("X-Many", "one")
    connection.putheader("X-Many", "two")
    connection.endheaders()
    assert connection.getresponse().status == 200
    event = handlers["public-api"].events[-1]
    assert event["multiValueHeaders"]["X-Many"] == ["one", "two"]
    assert event["headers"]["X-Many"] == "two"


def test_local_endpoints(gateway: HttpGateway) -> None:
    emails = requests.get(f"{gateway.url}/_local/emails?to=a@b.localhost", timeout=5).json()
    assert emails == [{"to": ["a@b.localhost"], "subject": "hi"}]
    assert requests.get(f"{gateway.url}/_local/schedules", timeout=5).json() == [{"name": "nightly"}]
    fired = requests.post(f"{gateway.url}/_local/schedules/nightly/fire", timeout=5)
    assert fired.status_code == 200 and fired.json()["result"] == {"ok": True}
    assert requests.post(f"{gateway.url}/_local/schedules/nope/fire", timeout=5).status_code == 404
    token = requests.post(
        f"{gateway.url}/_local/token", timeout=5, json={"practice_id": "prc_z", "role": "owner"}
    ).json()["token"]
    assert local_auth.verify(token)[contract.CLAIM_PRACTICE_ID] == "prc_z"
    assert requests.post(f"{gateway.url}/_local/token", json={}, timeout=5).status_code == 400


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"", "", "JSON object"),
        (b"not json", "", "JSON object"),
        (b"[1]", "", "JSON object"),
        (b"{}", "practice_id", "is required"),
        (b'{"practice_id": 7}', "practice_id", "practice id, e.g. prc_"),
        (b'{"practice_id": "prc_a", "role": "boss"}', "role", "owner, biller, front_desk, clinician"),
        (b'{"practice_id": "prc_a", "ttl": "60"}', "ttl", "whole number of seconds"),
        (b'{"practice_id": "prc_a", "ttl": 0}', "ttl", "from 1 to"),
        (b'{"practice_id": "prc_a", "email": ""}', "email", "non-empty text"),
        (b'{"practice_id": "prc_a", "roles": "owner"}', "roles", "not a field"),
    ],
)
def test_the_local_token_endpoint_says_what_is_wrong_with_a_request(
    gateway: HttpGateway, body: bytes, field: str, words: str
) -> None:
    response = requests.post(f"{gateway.url}/_local/token", data=body, timeout=5)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "invalid_request" and problem["details"] == {"field": field}
    assert words in problem["message"] and (not field or problem["message"].startswith(f"{field}: "))


def test_an_unknown_local_endpoint_is_a_404_naming_it(gateway: HttpGateway) -> None:
    response = requests.get(f"{gateway.url}/_local/nothing", timeout=5)
    assert response.status_code == 404
    assert response.json()["details"] == {"method": "GET", "path": "/_local/nothing"}


def test_routing_table() -> None:
    assert route_for("GET", "/practice") == "staff-api"
    assert route_for("GET", "/practices") is None  # a prefix is a path segment, not a string prefix
    assert route_for("POST", "/clients/cli_1/cards") == "staff-api"
    assert route_for("GET", "/setup/tok") == "public-api"
    assert route_for("POST", contract.WEBHOOK_PATH) == "stripe-webhook"
    assert route_for("PUT", contract.WEBHOOK_PATH) is None


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("abc") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token(None) is None


def test_missing_handler_module_is_reported() -> None:
    with pytest.raises(HandlerUnavailableError):
        import_handler("therabill.entrypoints.does_not_exist.lambda_handler")


def test_local_tokens_round_trip() -> None:
    token = local_auth.issue_token("prc_1", "owner", sub="u1", email="o@p.localhost", ttl=60)
    claims = local_auth.verify(token)
    assert claims[contract.CLAIM_PRACTICE_ID] == "prc_1"
    assert claims["token_use"] == "id"
    no_practice = local_auth.issue_token("", "owner")
    with pytest.raises(local_auth.InvalidTokenError):
        local_auth.verify(no_practice)
    json.dumps(local_auth.authorizer_claims(claims))


def test_a_body_over_api_gateways_10_mb_is_a_413_without_calling_the_function(
    gateway: HttpGateway, handlers: dict[str, Recorder]
) -> None:
    url = urlsplit(gateway.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    conn.putrequest("POST", contract.WEBHOOK_PATH)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    conn.endheaders()  # the body is never sent: the gateway answers from the headers
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Too Long"}
    conn.close()
    assert handlers["stripe-webhook"].events == []
