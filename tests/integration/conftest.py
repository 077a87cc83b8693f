"""Integration tier: the real handlers, fed real event shapes (devstack.apigw), against moto
(in-process) and the Stripe fake at the SDK's HTTP boundary. No sockets."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from devstack.resources import LocalResources, provision
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from pytest_socket import disable_socket

# The X-Ray SDK (behind Powertools' Tracer) opens a UDP socket when first imported; import the
# entry points before sockets are disabled.
import therabill.entrypoints.payments_reconciler
import therabill.entrypoints.public_api
import therabill.entrypoints.staff_api
import therabill.entrypoints.stripe_webhook
import therabill.entrypoints.stripe_worker  # noqa: F401
from devstack import apigw
from tests.fakes.fake_stripe import FakeStripe
from tests.integration.faults import FailingDynamo, FaultyTransport
from therabill import contract, wiring
from therabill.adapters.ses import SesTransport
from therabill.adapters.stripe_gateway import StripeGateway
from therabill.contract import SERVICE_NAME
from therabill.core.ids import new_id
from therabill.settings import Settings
from therabill.staff.models import ROLES, StaffMember
from therabill.staff.store import StaffStore
from therabill.webhooks import signature

WEBHOOK_SECRET = "whsec_test_current"
SECRETS = {
    "stripe_secret_key": "sk_test_integration",
    "stripe_publishable_key": "pk_test_integration",
    "stripe_webhook_secrets": [WEBHOOK_SECRET],
    "link_signing_key": "integration-link-signing-key-0123456789abcdef",
}


class Clock:
    """A settable clock: tests move time on purpose."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    container: wiring.Container
    resources: LocalResources
    stripe: FakeStripe
    clock: Clock
    session: Any
    dynamo: FailingDynamo  # the table's client: ``world.dynamo.fail(operation, ...)``
    mail: FaultyTransport  # the email transport: ``world.mail.fail_next()``
    _handlers: dict[str, Any] = field(default_factory=dict)
    _members: dict[tuple[str, str], StaffMember] = field(default_factory=dict)

    # -- entry points ---------------------------------------------------------------------------
    def handler(self, name: str) -> Any:
        if name not in self._handlers:
            import importlib

            module = importlib.import_module(f"therabill.entrypoints.{name}")
            self._handlers[name] = module.lambda_handler
        return self._handlers[name]

    def staff(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        practice_id: str,
        role: str = "owner",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        staff_id: str | None = None,
        claims: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """A staff request as the practice's member with ``role`` (made on first use, see
        ``member``), or as the member ``staff_id`` (made with ``role`` if new); ``claims``: this
        token's claims instead, as they are."""
        if apigw.route_for(method, path.partition("?")[0]) != apigw.STAFF_FUNCTION:
            return apigw.NO_ROUTE_STATUS, apigw.no_route_body(method, path)  # the function is never called
        if claims is None:
            member = self.member(practice_id, role, staff_id=staff_id)
            claims = apigw.staff_claims(
                practice_id, member.role, sub=member.sub or "", email=member.email, staff_id=member.id
            )
        event = apigw.rest_event(
            method,
            path,
            body=None if body is None else (body if isinstance(body, str | bytes) else json.dumps(body)),
            headers={"Content-Type": "application/json", **(headers or {})},
            query=query,
            claims=claims,
        )
        return self.decode(self.handler("staff_api")(event, apigw.LambdaContext("staff-api")))

    def member(self, practice_id: str, role: str = "owner", *, staff_id: str | None = None) -> StaffMember:
        """The staff member the harness signs in as: one per practice and role, all four made
        together the first time the practice is seen (so later requests write nothing), or the
        member ``staff_id`` (made with ``role`` if new). Each is a user of the world's user pool
        and an active member, written straight to the staff store (no invitation), kept for the
        world. Asked for
        with another role, the member's item takes it (the next request acts with it)."""
        if not any(p == practice_id for p, _ in self._members):
            for each in sorted(ROLES):
                self._members[(practice_id, f"role:{each}")] = self._new_member(practice_id, each, None)
        key = (practice_id, staff_id or f"role:{role}")
        found = self._members.get(key)
        if found is None:
            found = self._new_member(practice_id, role, staff_id)
        elif found.role != role:
            store = StaffStore(self.container.table)
            current = store.get(practice_id, found.id)
            found = store.replace(current, current.model_copy(update={"role": role}))
        self._members[key] = found
        return found

    def admit(self, event: dict[str, Any]) -> StaffMember:
        """The staff member a ready-made event's claims name (events/api's samples), written to
        the staff store as it says: active, with its sub and role."""
        claims = event["requestContext"]["authorizer"]["claims"]
        member = StaffMember(
            id=claims[contract.CLAIM_STAFF_ID],
            practice_id=claims[contract.CLAIM_PRACTICE_ID],
            email=claims[contract.CLAIM_EMAIL],
            name="Sample staff member",
            role=claims[contract.CLAIM_ROLE],
            status="active",
            sub=claims[contract.CLAIM_SUBJECT],
            created_at=self.clock(),
            version=1,
        )
        StaffStore(self.container.table).create(member)
        return member

    def _new_member(self, practice_id: str, role: str, staff_id: str | None) -> StaffMember:
        staff_id = staff_id or new_id("stf")
        email = f"{staff_id}@staff.test"
        sub = self.container.staff_directory.create_user(
            practice_id=practice_id, staff_id=staff_id, email=email, name=f"Test {role}", role=role
        )
        member = StaffMember(
            id=staff_id,
            practice_id=practice_id,
            email=email,
            name=f"Test {role}",
            role=role,  # type: ignore[arg-type]  # an unknown role fails validation here
            status="active",
            sub=sub,
            created_at=self.clock(),
            version=1,
        )
        StaffStore(self.container.table).create(member)
        return member

    def public(
        self,
        method: str,
        path: str,
        body: Any = None,
        source_ip: str = "198.51.100.7",
        user_agent: str | None = "pytest-browser",
    ) -> tuple[int, Any]:
        """``user_agent`` None: a client that sends no User-Agent header."""
        if apigw.route_for(method, path.partition("?")[0]) != apigw.PUBLIC_FUNCTION:
            return apigw.NO_ROUTE_STATUS, apigw.no_route_body(method, path)  # the function is never called
        headers = {"Content-Type": "application/json"}
        if user_agent is not None:
            headers["User-Agent"] = user_agent
        event = apigw.rest_event(
            method,
            path,
            body=None if body is None else (body if isinstance(body, str | bytes) else json.dumps(body)),
            headers=headers,
            source_ip=source_ip,
        )
        return self.decode(self.handler("public_api")(event, apigw.LambdaContext("public-api")))

    def webhook(
        self, payload: bytes | str, *, header: str | None = "sign", timestamp: int | None = None
    ) -> tuple[int, Any]:
        raw = payload.encode() if isinstance(payload, str) else payload
        if header == "sign":
            header = signature.sign(WEBHOOK_SECRET, raw, timestamp or int(self.clock().timestamp()))
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["Stripe-Signature"] = header
        event = apigw.rest_event("POST", "/webhooks/stripe", body=raw, headers=headers)
        return self.decode(self.handler("stripe_webhook")(event, apigw.LambdaContext("stripe-webhook")))

    def drain_queue(self) -> list[dict[str, Any]]:
        """Play the SQS event source: deliver queued events to the worker, delete the successes."""
        sqs = self.session.client("sqs")
        responses = []
        while True:
            out = sqs.receive_message(
                QueueUrl=self.resources.stripe_events_queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                AttributeNames=["ApproximateReceiveCount"],
            )
            messages = out.get("Messages", [])
            if not messages:
                return responses
            event = apigw.sqs_event(
                [m["Body"] for m in messages],
                message_ids=[m["MessageId"] for m in messages],
                receive_counts=[
                    int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)) for m in messages
                ],
            )
            result = self.handler("stripe_worker")(event, apigw.LambdaContext("stripe-worker"))
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for m in messages:
                if m["MessageId"] not in failed:
                    sqs.delete_message(
                        QueueUrl=self.resources.stripe_events_queue_url, ReceiptHandle=m["ReceiptHandle"]
                    )
            responses.append(result)
            if failed:
                return responses

    def deliver_stripe_events(self, *, since: int = 0) -> int:
        """Send the events the fake Stripe emitted (from index ``since``) through the webhook."""
        events = self.stripe.events[since:]
        for e in events:
            status, _ = self.webhook(json.dumps(e))
            assert status == 200
        self.drain_queue()
        return len(self.stripe.events)

    def worker(self, bodies: list[str]) -> dict[str, Any]:
        event = apigw.sqs_event(bodies)
        return self.handler("stripe_worker")(event, apigw.LambdaContext("stripe-worker"))

    def emails(self) -> list[Any]:
        from moto.backends import get_backend

        backend = get_backend("ses")[DEFAULT_ACCOUNT_ID]["us-east-1"]
        return list(backend.sent_messages)

    @staticmethod
    def decode(response: dict[str, Any]) -> tuple[int, Any]:
        body = response.get("body") or ""
        headers = {
            **{k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()},
            **(response.get("headers") or {}),
        }
        ctype = headers.get("Content-Type", "")
        if "json" in ctype and body:
            return response["statusCode"], json.loads(body)
        return response["statusCode"], body


class AwsClients:
    """One boto3 session and one client per service, kept for a test process's whole run and
    handed to every world it opens: creating a session and its clients cost more than all the
    rest of a world. A client holds no state of the world (moto's backends do, and every world
    starts them empty), so sharing them keeps each test as isolated as a fresh session would.
    ``client(name)`` is the one method tests use on ``world.session``."""

    def __init__(self) -> None:
        self._session = boto3.session.Session(region_name="us-east-1")
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self._session.client(name)
        return self._clients[name]


@contextmanager
def open_world(
    *,
    on_session: Callable[[Any], None] | None = None,
    scheduler: tuple[str, str] | None = None,
    clients: AwsClients | None = None,
) -> Iterator[World]:
    """The world: moto's AWS with the stack's resources, the Stripe fake behind the real
    StripeGateway, a settable clock, and the faults the tests may inject. ``on_session(session)``
    runs after the resources exist and before any client of the system under test is made (the
    benchmark counts requests with it; it needs a boto3 session of its own, so not with
    ``clients``). ``scheduler`` (target ARN, role ARN): the practices' schedules are kept in moto's
    EventBridge Scheduler, as configured in Lambda. ``clients``: the process's shared boto3 clients
    (the ``world`` fixture passes them); without, a new boto3 session. Every world starts moto
    empty (``mock_aws`` resets every backend), provisions the stack's resources and builds the rest
    new. Used by the ``world`` fixture and by bench/world.py."""
    assert on_session is None or clients is None, "on_session needs a session of its own"
    with mock_aws():
        session: Any = clients or boto3.session.Session(region_name="us-east-1")
        resources = provision(session, secrets=SECRETS)
        if on_session is not None:
            on_session(session)
        fake = FakeStripe()
        clock = Clock()
        settings = Settings(
            table_name=resources.table_name,
            secrets_arn=resources.secrets_arn,
            stripe_events_queue_url=resources.stripe_events_queue_url,
            email_sender=resources.email_sender,
            public_base_url="https://pay.therabill.test",  # type: ignore[arg-type]
            stripe_js_url="https://js.stripe.com/v3/",
            scheduler_group=resources.schedule_group if scheduler else None,
            nightly_target_arn=scheduler[0] if scheduler else None,
            scheduler_role_arn=scheduler[1] if scheduler else None,
            user_pool_id=resources.user_pool_id,
            audit_archive_bucket=resources.audit_archive_bucket,
            documents_bucket=resources.documents_bucket,
        )
        gateway = StripeGateway(
            SECRETS["stripe_secret_key"], http_client=fake.http_client(), max_network_retries=0
        )
        dynamo = FailingDynamo(session.client("dynamodb"))
        mail = FaultyTransport(SesTransport(session.client("ses")))

        def clients(name: str) -> Any:
            return dynamo if name == "dynamodb" else session.client(name)

        container = wiring.Container(settings, clock=clock, clients=clients, gateway=gateway, email=mail)
        with wiring.use(container):
            yield World(
                container=container,
                resources=resources,
                stripe=fake,
                clock=clock,
                session=session,
                dynamo=dynamo,
                mail=mail,
            )


@pytest.fixture(scope="session")
def aws_clients() -> AwsClients:
    """The boto3 clients every world in this test process uses (see ``AwsClients``)."""
    return AwsClients()


@pytest.fixture
def world(aws_clients: AwsClients) -> Iterator[World]:
    _freeze_what_the_first_world_loaded()
    disable_socket(allow_unix_socket=True)
    with open_world(clients=aws_clients) as w:
        yield w


_worlds_opened: list[int] = [0]


def _freeze_what_the_first_world_loaded() -> None:
    """Once per process, as the second world opens (the first is gone by then): what the first
    loaded (botocore's service models, moto's backends, the handlers' modules) lives as long as
    the process, so it is taken out of the cyclic collector's reach (``gc.freeze``); each later
    full collection then walks only what the tests make, at about a third of the cost.
    Refcounting still frees frozen objects."""
    _worlds_opened[0] += 1
    if _worlds_opened[0] == 2:
        gc.collect()
        gc.freeze()


def new_practice_id() -> str:
    return new_id("prc")


@pytest.fixture
def recorded_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG: the root logger's (the libraries'), and Therabill's own, whose
    Powertools logger writes to the stream it was given at import and does not propagate, so the
    capture's handler joins it for the test."""
    caplog.set_level(logging.DEBUG)
    own = logging.getLogger(SERVICE_NAME)
    level = own.level
    own.setLevel(logging.DEBUG)
    own.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        own.removeHandler(caplog.handler)
        own.setLevel(level)
