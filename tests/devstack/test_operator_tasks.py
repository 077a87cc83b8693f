"""The operator's path: ``scripts/operator_tasks.py create-practice --local`` makes a practice and
its owner through the same sign-up service as the public form, against the running local
system; the owner's invitation lands in the local mailbox, and a second run creates nothing."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import requests
from devstack.run import Stack

from devstack import PROJECT_ROOT
from tests.devstack.stacks import module_stack

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("local-stack"),
    pytest.mark.skipif(
        importlib.util.find_spec("therabill.entrypoints.staff_api") is None,
        reason="the staff API entry point is not written yet",
    ),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from module_stack(tmp_path_factory, seed=False)


def _create(stack: Stack, email: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(PROJECT_ROOT / "scripts" / "operator_tasks.py"),
        "create-practice",
        "--local",
        "--state",
        str(stack.state_path),
        "--name",
        "Tide Pool OT",
        "--email",
        email,
        "--time-zone",
        "America/Denver",
        "--owner-name",
        "Rowan Tide",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, check=False)


def test_create_practice_makes_the_practice_and_invites_its_owner_once(stack: Stack) -> None:
    address = f"ops-{uuid.uuid4().hex[:8]}@tidepool.localhost"
    first = _create(stack, address)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("created practice prc_")
    [invitation] = requests.get(
        f"{stack.gateway_url}/_local/emails", params={"to": address}, timeout=10
    ).json()
    assert invitation["subject"] == "You're invited to Tide Pool OT on Therabill"

    # Run again before the owner has signed in: nothing is made, the invitation is sent again (a
    # password never set cannot be reset, and the first invitation lasts 3 days).
    again = _create(stack, address)
    assert again.returncode == 0, again.stderr
    assert "the invitation was sent again" in again.stdout
    subjects = [
        m["subject"]
        for m in requests.get(f"{stack.gateway_url}/_local/emails", params={"to": address}, timeout=10).json()
    ]
    assert subjects == ["You're invited to Tide Pool OT on Therabill"] * 2
    # The invitation sent again carries a new temporary password, which signs the owner in.
    mails = requests.get(f"{stack.gateway_url}/_local/emails", params={"to": address}, timeout=10).json()
    passwords = [re.search(r"temporary password (\S+)\.", m["text"]).group(1) for m in mails]
    assert passwords[0] != passwords[1]
    signed_in = requests.post(
        f"{stack.gateway_url}/_local/sign-in",
        json={"email": address, "password": passwords[-1], "new_password": "A-new-Passw0rd-for-ops!"},
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text


def test_create_practice_refuses_what_the_form_refuses(stack: Stack) -> None:
    refused = _create(stack, "not-an-address")
    assert refused.returncode != 0 and "email" in refused.stderr
