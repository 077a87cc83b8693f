"""The sandbox clearinghouse as `make run` starts it: its own process, on its own port, answering
the product's Stedi adapter (the container's choice when THERABILL_CLEARINGHOUSE_URL is set)."""

from __future__ import annotations

from pathlib import Path

from devstack.processes import ChildProcess, child_env, free_port, python_module

from devstack import PROJECT_ROOT
from tests.contract.test_clearinghouse_port import inquiry_270
from therabill.settings import Secrets, Settings
from therabill.wiring import Container
from therabill.x12.eligibility.benefits import CoverageStatus
from therabill.x12.eligibility.response import read_271


def test_the_sandbox_process_answers_the_containers_clearinghouse(tmp_path: Path) -> None:
    port = free_port()
    child = ChildProcess(
        "clearinghouse",
        python_module("devstack.sandbox_clearinghouse", "--port", str(port)),
        log_path=tmp_path / "clearinghouse.log",
        cwd=PROJECT_ROOT,
        env=child_env(),
    )
    child.start()
    try:
        url = f"http://127.0.0.1:{port}"
        child.wait_ready(f"{url}/_local/health", 30)
        secrets = Secrets(
            stripe_secret_key="sk_test_x",
            stripe_publishable_key="pk_test_x",
            stripe_webhook_secrets=["whsec_x"],
            link_signing_key="k" * 32,
        )
        settings = Settings(table_name="table", secrets_arn="arn", clearinghouse_url=url)
        clearinghouse = Container(settings, clients=lambda name: None, secrets=secrets).clearinghouse
        answer = read_271(clearinghouse.check_eligibility(inquiry_270("TB-ACTIVE-25"))).only
        assert answer.status is CoverageStatus.ACTIVE
        assert answer.service("MH").copay() == 2500
    finally:
        child.stop()
