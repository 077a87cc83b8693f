"""The whole Therabill system on one machine, no AWS account: ``python -m devstack.run``.

What starts, in one process plus three child processes:

- **moto** in server mode (child process) for DynamoDB, SQS, SES, S3, Secrets Manager and
  Scheduler; every boto3 client reaches it through ``AWS_ENDPOINT_URL`` with fake credentials;
- the **sandbox clearinghouse** through :mod:`devstack.sandbox_clearinghouse` (child process,
  Stedi's API; ``THERABILL_CLEARINGHOUSE_URL`` points the Stedi adapter at it);
- **localstripe** through :mod:`devstack.localstripe_server` (child process), its webhooks
  registered to the local webhook endpoint and signed with the stack's webhook secret;
- the resources (``devstack.resources.provision``) and the functions' environment
  (``function_environment``), set in this process's ``os.environ`` as Lambda would;
- the **HTTP gateway** (:mod:`devstack.http_gateway`): API Gateway for the same handlers;
- the **SQS poller** (:mod:`devstack.sqs_poller`): the stripe-events queue -> stripe-worker;
- the **scheduler** (:mod:`devstack.scheduler`): the contract's schedules, created in the emulated
  Scheduler, and every schedule stored there, fired at its time;
- a demo practice, created through the staff API (if it is implemented yet).

Then ``.devstack/state.json`` (URLs, ports, a staff token, the webhook secret) is written.

Ports come from ``THERABILL_GATEWAY_PORT`` (3000), ``THERABILL_MOTO_PORT`` (5000) and
``THERABILL_LOCALSTRIPE_PORT`` (8420), or ``--ports-auto`` for free ones. The bind address is
``THERABILL_LOCAL_HOST`` (127.0.0.1). Ctrl-C stops everything.

Programmatic use (end-to-end tests)::

    stack = start_stack(tmp_path, ports_auto=True)
    try:
        requests.get(stack.gateway_url + "/_local/health")
    finally:
        stack.stop()
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from devstack import PROJECT_ROOT, local_auth, mailbox
from devstack.functions import FunctionRegistry, Handler, local_function_arn
from devstack.http_gateway import HttpGateway, LocalServices
from devstack.local_cognito import LocalCognito
from devstack.local_staff import LocalStaff
from devstack.processes import ChildProcess, child_env, free_port, port_in_use, python_module
from devstack.resources import LOCAL_REGION, LocalResources, function_environment, provision
from devstack.scheduler import LOCAL_SCHEDULER_ROLE_ARN, LocalScheduler
from devstack.sqs_poller import SqsPoller
from therabill import contract
from therabill.core.ids import derived_id
from therabill.observability import quiet_third_party_loggers

log = logging.getLogger("devstack.run")

DEFAULT_PORTS = {"gateway": 3000, "moto": 5000, "localstripe": 8420, "clearinghouse": 8430}
PORT_ENV = {
    "gateway": "THERABILL_GATEWAY_PORT",
    "moto": "THERABILL_MOTO_PORT",
    "localstripe": "THERABILL_LOCALSTRIPE_PORT",
    "clearinghouse": "THERABILL_SANDBOX_CLEARINGHOUSE_PORT",
}
HOST_ENV = "THERABILL_LOCAL_HOST"
STATE_DIR = ".devstack"

DEMO_PRACTICE_ID = derived_id("prc", "therabill-local", "demo-practice")
DEMO_PRACTICE = {
    "name": "Demo Therapy Group",
    "time_zone": "America/New_York",
    "currency": "usd",
    "email": "owner@demo-therapy.localhost",
}

# Always set while the stack runs (restored by stop()): every boto3 client goes to moto.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
}
# Set only if unset: what Lambda's configuration would give the Powertools utilities.
POWERTOOLS_ENV = {
    "POWERTOOLS_SERVICE_NAME": contract.SERVICE_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": "Therabill",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
UNSET_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")

# The stack running in this process, if any. The functions read their configuration from this
# process's environment, so two stacks in one process would cross-wire: start_stack refuses.
_running: list[Stack] = []


def running_stack() -> Stack | None:
    """The stack started in this process and not yet stopped (tests reuse it)."""
    return _running[0] if _running else None


@dataclass
class Stack:
    """A running local system. ``stop()`` ends everything it started (idempotent)."""

    base_dir: Path
    host: str
    ports: dict[str, int]
    resources: LocalResources
    registry: FunctionRegistry
    gateway: HttpGateway
    scheduler: LocalScheduler
    poller: SqsPoller
    secrets: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    children: list[ChildProcess] = field(default_factory=list)
    # The other queues' pollers (the nightly queue's): stopped with the stack like ``poller``.
    more_pollers: list[SqsPoller] = field(default_factory=list)
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _stopped: bool = False

    @property
    def gateway_url(self) -> str:
        return self.gateway.url

    @property
    def moto_url(self) -> str:
        return f"http://{self.host}:{self.ports['moto']}"

    @property
    def localstripe_url(self) -> str:
        return f"http://localhost:{self.ports['localstripe']}"

    @property
    def webhook_secret(self) -> str:
        return str(self.secrets[contract.SECRET_STRIPE_WEBHOOK_SECRETS][0])

    @property
    def state_path(self) -> Path:
        return self.base_dir / STATE_DIR / "state.json"

    def token(
        self,
        practice_id: str = DEMO_PRACTICE_ID,
        role: str = "owner",
        email: str = "owner@practice.localhost",
        ttl: int = 12 * 3600,
    ) -> str:
        """A staff ID token the gateway accepts (``Authorization: Bearer <token>``): the
        practice's member with ``email`` signs in (made with ``role`` if new; see
        devstack/local_staff.py)."""
        body = json.dumps({"practice_id": practice_id, "role": role, "email": email, "ttl": ttl})
        return local_auth.token_for_request(body.encode(), self.gateway.services.sign_in)

    def emails(self, to: str | None = None) -> list[dict[str, Any]]:
        return mailbox.sent_emails(self.moto_url, to=to)

    def fire_schedule(self, name: str) -> dict[str, Any]:
        return self.scheduler.fire_now(name)

    def boto3_session(self) -> Any:
        import boto3

        return boto3.Session(
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=AWS_ENV["AWS_SESSION_TOKEN"],
            region_name=LOCAL_REGION,
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        pollers = [p.stop for p in (self.poller, *self.more_pollers)]
        for stopper in (self.scheduler.stop, *pollers, self.gateway.stop):
            try:
                stopper()
            except Exception:
                log.exception("stopping %s failed", stopper)
        for child in reversed(self.children):
            child.stop()
        _restore_env(self._saved_env)
        reset_runtime_caches()
        if self in _running:
            _running.remove(self)
        log.info("local stack stopped")

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _set_env(values: dict[str, str], saved: dict[str, str | None], *, only_if_unset: bool = False) -> None:
    for name, value in values.items():
        if only_if_unset and os.environ.get(name):
            continue
        saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value


def _unset_env(names: tuple[str, ...], saved: dict[str, str | None]) -> None:
    for name in names:
        if name in os.environ:
            saved.setdefault(name, os.environ[name])
            del os.environ[name]


def _restore_env(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    saved.clear()


def reset_runtime_caches() -> None:
    """Forget the runtime's per-process caches (its container and boto3 clients).

    In Lambda they live as long as the execution environment; here the stack may start in a
    process (a pytest session) where earlier code already built them against other endpoints.
    """
    try:
        from therabill import wiring

        wiring.reset()
    except (ImportError, AttributeError):
        pass
    try:
        from therabill.adapters import aws

        aws.cache_clear()
    except (ImportError, AttributeError):
        pass


def _choose_ports(host: str, ports_auto: bool, overrides: dict[str, int | None]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for name, default in DEFAULT_PORTS.items():
        chosen = overrides.get(name)
        if chosen is None and not ports_auto:
            chosen = int(os.environ.get(PORT_ENV[name]) or default)
        if chosen is None:
            chosen = 0 if name == "gateway" else free_port(host)
        elif chosen and port_in_use(chosen, host):
            raise RuntimeError(
                f"port {chosen} for {name} is taken (set {PORT_ENV[name]} or use --ports-auto)"
            )
        ports[name] = chosen
    return ports


def new_secrets() -> dict[str, Any]:
    return {
        contract.SECRET_STRIPE_SECRET_KEY: "sk_test_local" + secrets.token_hex(12),
        contract.SECRET_STRIPE_PUBLISHABLE_KEY: "pk_test_local" + secrets.token_hex(12),
        contract.SECRET_STRIPE_WEBHOOK_SECRETS: ["whsec_" + secrets.token_hex(24)],
        contract.SECRET_LINK_SIGNING_KEY: secrets.token_urlsafe(32),
    }


def seed_demo_practice(gateway_url: str, token: str) -> dict[str, Any]:
    """Create the demo practice through the staff API; tolerate 'already exists'."""
    try:
        response = requests.post(
            f"{gateway_url}/practice",
            json=DEMO_PRACTICE,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except requests.RequestException as exc:
        log.warning("seeding the demo practice failed: %s", exc)
        return {"status": "error", "detail": str(exc)}
    if response.status_code in (200, 201):
        return {"status": "created", "practice": _json_or_text(response)}
    if response.status_code == 409:
        return {"status": "exists"}
    detail = _json_or_text(response)
    if response.status_code == 502 and isinstance(detail, dict) and "local" in detail:
        log.warning("staff API not available yet, demo practice not seeded: %s", detail["local"])
        return {"status": "skipped", "detail": detail["local"]}
    log.warning("seeding the demo practice answered %s: %s", response.status_code, detail)
    return {"status": "error", "http_status": response.status_code, "detail": detail}


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _nightly_queue(session: Any) -> str:
    """The nightly run's fan-out queue and its DLQ in the emulator (as infra/ creates them)."""
    sqs = session.client("sqs")
    dlq_url = sqs.create_queue(QueueName="therabill-local-nightly-dlq")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    dlq_arn = attributes["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(contract.NIGHTLY_MAX_RECEIVES)}
    url: str = sqs.create_queue(
        QueueName="therabill-local-nightly",
        Attributes={"VisibilityTimeout": "60", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    return url


def start_stack(
    base_dir: Path | str = PROJECT_ROOT,
    *,
    ports_auto: bool = False,
    host: str | None = None,
    gateway_port: int | None = None,
    moto_port: int | None = None,
    localstripe_port: int | None = None,
    handlers: dict[str, Handler] | None = None,
    seed: bool = True,
    install_schedules: bool = True,
    scheduler_refresh_seconds: float = 2.0,
    poller_wait_seconds: int = 1,
) -> Stack:
    """Start everything; returns when it all answers. Raises (after cleaning up) if anything fails.

    ``handlers`` replaces contract functions by name (tests); the others are imported lazily from
    ``therabill.contract.FUNCTIONS``.
    """
    if _running:
        raise RuntimeError(
            "a local stack is already running in this process "
            f"({_running[0].gateway_url}); use devstack.run.running_stack()"
        )
    quiet_third_party_loggers()  # botocore and stripe would log every call the stack makes
    started = time.monotonic()
    base = Path(base_dir)
    state_dir = base / STATE_DIR
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    (state_dir / ".gitignore").write_text("*\n")
    host = host or os.environ.get(HOST_ENV) or "127.0.0.1"
    ports = _choose_ports(
        host, ports_auto, {"gateway": gateway_port, "moto": moto_port, "localstripe": localstripe_port}
    )
    saved_env: dict[str, str | None] = {}
    children: list[ChildProcess] = []
    cleanup: list[Any] = []
    try:
        moto = ChildProcess(
            "moto",
            python_module("devstack.moto_server", "-H", host, "-p", str(ports["moto"])),
            log_path=state_dir / "logs" / "moto.log",
            cwd=PROJECT_ROOT,
            env=child_env(),
        )
        localstripe = ChildProcess(
            "localstripe",
            python_module("devstack.localstripe_server", "--host", host, "--port", str(ports["localstripe"])),
            log_path=state_dir / "logs" / "localstripe.log",
            cwd=PROJECT_ROOT,
            env=child_env(),
        )
        clearinghouse = ChildProcess(
            "clearinghouse",
            python_module(
                "devstack.sandbox_clearinghouse", "--host", host, "--port", str(ports["clearinghouse"])
            ),
            log_path=state_dir / "logs" / "clearinghouse.log",
            cwd=PROJECT_ROOT,
            env=child_env(),
        )
        for child in (moto, localstripe, clearinghouse):
            child.start()
            children.append(child)
        moto_url = f"http://{host}:{ports['moto']}"
        localstripe_internal = f"http://{host}:{ports['localstripe']}"
        clearinghouse_url = f"http://{host}:{ports['clearinghouse']}"
        with ThreadPoolExecutor(3) as pool:
            waits = [
                pool.submit(clearinghouse.wait_ready, f"{clearinghouse_url}/_local/health", 60),
                pool.submit(moto.wait_ready, f"{moto_url}/moto-api/", 60),
                pool.submit(localstripe.wait_ready, f"{localstripe_internal}/_local/health", 60),
            ]
            for wait in waits:
                wait.result()
        log.info("emulators up after %.1fs", time.monotonic() - started)

        _unset_env(UNSET_ENV, saved_env)
        _set_env({**AWS_ENV, "AWS_ENDPOINT_URL": moto_url}, saved_env)
        _set_env(POWERTOOLS_ENV, saved_env, only_if_unset=True)
        reset_runtime_caches()

        import boto3

        session = boto3.Session(region_name=LOCAL_REGION)
        stack_secrets = new_secrets()
        resources = provision(session, secrets=stack_secrets)
        log.info("resources provisioned after %.1fs", time.monotonic() - started)

        registry = FunctionRegistry(handlers)
        local_staff = LocalStaff(session, resources)
        services = LocalServices(
            emails=lambda to: mailbox.sent_emails(moto_url, to=to), sign_in=local_staff.sign_in
        )
        gateway = HttpGateway(registry, services, host=host, port=ports["gateway"])
        ports["gateway"] = gateway.port
        cleanup.append(gateway)
        localstripe_url = f"http://localhost:{ports['localstripe']}"
        _set_env(
            function_environment(
                resources,
                public_base_url=gateway.url,
                stripe_api_base=localstripe_url,
                stripe_js_url=f"{localstripe_url}/js.stripe.com/v3/",
            ),
            saved_env,
        )
        # The sandbox clearinghouse speaks Stedi's API: the Stedi adapter is pointed at it.
        _set_env({contract.ENV_CLEARINGHOUSE_URL: clearinghouse_url}, saved_env)
        nightly_queue_url = _nightly_queue(session)
        _set_env(
            {
                # The nightly run: its fan-out queue, and what the per-practice schedules target.
                contract.ENV_NIGHTLY_QUEUE_URL: nightly_queue_url,
                contract.ENV_NIGHTLY_TARGET_ARN: local_function_arn("nightly-dispatch"),
                # A coverage added or changed: its one-time eligibility check.
                contract.ENV_ELIGIBILITY_TARGET_ARN: local_function_arn("eligibility-checks"),
                contract.ENV_SCHEDULER_ROLE_ARN: LOCAL_SCHEDULER_ROLE_ARN,
            },
            saved_env,
        )
        reset_runtime_caches()
        # Cognito's invitations (a temporary password, the CustomMessage trigger, the email) on
        # the runtime's session, before any function makes its clients; and the local sign-in.
        from therabill.adapters import aws as runtime_aws

        LocalCognito(
            invoke=registry.invoke, ses=session.client("ses"), sender=resources.email_sender
        ).install(runtime_aws.session())
        cognito = session.client("cognito-idp")
        services.password_sign_in = lambda body: local_auth.sign_in(
            cognito, pool_id=resources.user_pool_id, client_id=resources.user_pool_client_id, body=body
        )

        webhook_url = f"http://{host}:{gateway.port}{contract.WEBHOOK_PATH}"
        webhook_secret = stack_secrets[contract.SECRET_STRIPE_WEBHOOK_SECRETS][0]
        requests.post(
            f"{localstripe_internal}/_config/webhooks/therabill",
            data={"url": webhook_url, "secret": webhook_secret},
            timeout=10,
        ).raise_for_status()

        scheduler = LocalScheduler(session, registry, refresh_seconds=scheduler_refresh_seconds)
        poller = SqsPoller(
            session.client("sqs"),
            resources.stripe_events_queue_url,
            "stripe-worker",
            registry.invoke,
            wait_seconds=poller_wait_seconds,
        )
        services.scheduler = scheduler
        gateway.start()
        poller.start()
        cleanup.append(poller)
        nightly_poller = SqsPoller(
            session.client("sqs"),
            nightly_queue_url,
            "nightly-worker",
            registry.invoke,
            wait_seconds=poller_wait_seconds,
        )
        nightly_poller.start()
        cleanup.append(nightly_poller)

        stack = Stack(
            base_dir=base,
            host=host,
            ports=ports,
            resources=resources,
            registry=registry,
            gateway=gateway,
            scheduler=scheduler,
            poller=poller,
            secrets=stack_secrets,
            children=children,
            more_pollers=[nightly_poller],
            _saved_env=saved_env,
        )
        token = stack.token(DEMO_PRACTICE_ID, "owner", email=DEMO_PRACTICE["email"], ttl=7 * 24 * 3600)
        seeded = seed_demo_practice(gateway.url, token) if seed else {"status": "not requested"}
        # After seeding, so the first run of the contract's rate schedules (AWS fires a rate
        # schedule as soon as it is created) does not hold up the seed request.
        if install_schedules:
            scheduler.install_contract_schedules()
        scheduler.start()
        cleanup.append(scheduler)
        services.info.update({"gateway": gateway.url, "moto": moto_url, "localstripe": localstripe_url})
        stack.state = {
            "started_at": datetime.now(UTC).isoformat(),
            "pid": os.getpid(),
            "gateway_url": gateway.url,
            "moto_url": moto_url,
            "localstripe_url": localstripe_url,
            "clearinghouse_url": clearinghouse_url,
            "emails_url": f"{gateway.url}/_local/emails",
            "schedules_url": f"{gateway.url}/_local/schedules",
            "ports": ports,
            "demo_practice_id": DEMO_PRACTICE_ID,
            "demo_practice": seeded,
            "staff_token": token,
            "webhook_url": webhook_url,
            "webhook_secret": webhook_secret,
            "stripe_publishable_key": stack_secrets[contract.SECRET_STRIPE_PUBLISHABLE_KEY],
            "resources": resources.__dict__,
            "environment": {
                name: os.environ[name]
                for name in sorted(os.environ)
                if name.startswith(("THERABILL_", "AWS_ENDPOINT_URL"))
            },
            "logs": {child.name: str(child.log_path) for child in children},
        }
        stack.state_path.write_text(json.dumps(stack.state, indent=2))
        _running.append(stack)
        atexit.register(stack.stop)
        log.info("local stack up in %.1fs", time.monotonic() - started)
        return stack
    except BaseException:
        for item in reversed(cleanup):
            try:
                item.stop()
            except Exception:
                log.exception("cleanup of %s failed", item)
        for child in reversed(children):
            child.stop()
        _restore_env(saved_env)
        reset_runtime_caches()
        raise


def describe(stack: Stack) -> str:
    s = stack.state
    lines = [
        "Therabill local stack is running.",
        f"  API (gateway)      {s['gateway_url']}",
        f"  moto (AWS)         {s['moto_url']}   (AWS_ENDPOINT_URL; dashboard {s['moto_url']}/moto-api/)",
        f"  localstripe        {s['localstripe_url']}   (Stripe.js {s['localstripe_url']}/js.stripe.com/v3/)",
        f"  clearinghouse      {s['clearinghouse_url']}   (sandbox, Stedi's API; devstack/sandbox_payer.py)",
        f"  emails             GET  {s['emails_url']}[?to=address]",
        f"  sign in            POST {s['gateway_url']}/_local/sign-in  {{email, password, new_password}}",
        f"  schedules          GET  {s['schedules_url']}",
        f"                     POST {s['gateway_url']}/_local/schedules/<name>/fire",
        f"  demo practice      {s['demo_practice_id']} ({s['demo_practice']['status']})",
        f"  webhook secret     {s['webhook_secret']}",
        f"  state              {stack.state_path}",
        "  staff token (Authorization: Bearer ...):",
        f"    {s['staff_token']}",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def configure_logging(level: str) -> None:
    """The local system's log lines at ``level``; the libraries' at WARNING, as in Lambda."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_third_party_loggers()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.run", description="Start the whole Therabill system locally."
    )
    parser.add_argument("--ports-auto", action="store_true", help="use free ports")
    parser.add_argument("--host", default=None, help=f"bind address (env {HOST_ENV}, 127.0.0.1)")
    parser.add_argument("--gateway-port", type=int, default=None)
    parser.add_argument("--moto-port", type=int, default=None)
    parser.add_argument("--localstripe-port", type=int, default=None)
    parser.add_argument("--no-seed", action="store_true", help="do not create the demo practice")
    parser.add_argument("--log-level", default=os.environ.get("THERABILL_LOCAL_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    # Powertools warns on every invocation that publishes no metric; locally that is only noise.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    configure_logging(args.log_level)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack = start_stack(
        PROJECT_ROOT,
        ports_auto=args.ports_auto,
        host=args.host,
        gateway_port=args.gateway_port,
        moto_port=args.moto_port,
        localstripe_port=args.localstripe_port,
        seed=not args.no_seed,
    )
    print(describe(stack), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        print("Stopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
