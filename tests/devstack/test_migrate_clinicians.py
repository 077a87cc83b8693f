"""The clinicians' migration against the running local system: ``scripts/migrate_clinicians.py
--local`` finds the practices by their nightly schedules (or takes ``--practice``), makes a member
with no sign-in for a session's free-string clinician and rewrites the session; a second run
changes nothing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from devstack.run import Stack
from devstack.slice import Slice

from devstack import PROJECT_ROOT
from tests.devstack.stacks import module_stack
from therabill.adapters.dynamo import Table
from therabill.core.ids import new_id
from therabill.sessions.clinicians import staff_id_for
from therabill.sessions.models import Session
from therabill.sessions.store import SessionStore

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


def _migrate(stack: Stack, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(PROJECT_ROOT / "scripts" / "migrate_clinicians.py"),
        "--local",
        "--state",
        str(stack.state_path),
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, check=False)


def test_a_free_string_clinician_is_migrated_once_on_the_local_system(stack: Stack) -> None:
    staff = Slice(stack.gateway_url)
    staff.new_practice("Old Notes Therapy", f"old-{uuid.uuid4().hex[:8]}@oldnotes.localhost")
    practice_id = str(staff.practice_id)
    client = staff.create_client("Ada", "Old", f"ada-{uuid.uuid4().hex[:8]}@client.localhost")
    service = staff.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": 12_000},
        expect=(201,),
    )
    # A session booked the old way (its clinician a free string), straight into the local table.
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    start = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)
    session = Session.model_validate(
        {
            "id": new_id("ses"),
            "client_id": client["id"],
            "service_id": service["id"],
            "clinician_id": "Dr Old",
            "scheduled_start": start,
            "scheduled_end": start + timedelta(minutes=50),
            "status": "booked",
            "created_at": start,
            "created_by": "owner",
            "updated_at": start,
            "version": 1,
        }
    )
    SessionStore(Table(dynamodb, stack.resources.table_name)).create(practice_id, session)

    first = _migrate(stack)  # every practice with a nightly schedule
    assert first.returncode == 0, first.stderr
    member = staff_id_for(practice_id, "Dr Old")
    assert f"{practice_id}: clinicians 'Dr Old' -> {member}; 1 session(s)" in first.stdout, first.stdout
    assert staff.staff("GET", f"/sessions/{session.id}")["clinician_id"] == member
    made = staff.staff("GET", f"/staff/{member}")
    assert (made["name"], made["role"], made["status"], made["sign_in"]) == (
        "Dr Old",
        "clinician",
        "active",
        False,
    )

    again = _migrate(stack, "--practice", practice_id)
    assert again.returncode == 0, again.stderr
    assert f"{practice_id}: clinicians none; 0 session(s) and 0 supervision item(s)" in again.stdout
