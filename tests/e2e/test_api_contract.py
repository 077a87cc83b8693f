"""The APIs answer what their OpenAPI documents say, checked by a machine: schemathesis generates
requests for every operation of ``docs/openapi-staff.json`` and ``docs/openapi-public.json`` and
sends them to the running local system (the local gateway, the real handlers, moto, localstripe),
with a staff ID token from the local token endpoint. Every answer must be no server error, a
documented status code with a documented content type and a body matching its schema; a
missing required header, data the document says is invalid and a request without the token must
be refused.

Path ids are often (not always) ones that exist (a client with a contact, a service, a booked
session), so operations reach past the 404 into their rules.

The default run is short, with a fixed seed (``make test``); ``make fuzz-api`` runs the same test
longer, every phase (examples, coverage, fuzzing, stateful), through the environment variables below.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from devstack.run import Stack

from tests.e2e.conftest import STACK_GROUP

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(STACK_GROUP)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "missing_required_header",
    "negative_data_rejection",
    "ignored_auth",
)
# Not checked: unsupported_method wants a 405 for a method a path does not document; the APIs answer
# 404 naming the method and path, as API Gateway answers a method no route takes.
# The short run's budget: a couple of generated requests per operation, one phase.
EXAMPLES = int(os.environ.get("THERABILL_FUZZ_EXAMPLES", "2"))
PHASES = os.environ.get("THERABILL_FUZZ_PHASES", "fuzzing")
SEED = int(os.environ.get("THERABILL_FUZZ_SEED", "20261204"))
TIMEOUT_SECONDS = int(os.environ.get("THERABILL_FUZZ_TIMEOUT", "300"))
# Where to keep each run's output and JUnit report (default: the test's temporary directory).
REPORT_DIR = os.environ.get("THERABILL_FUZZ_REPORT_DIR")
# How often a path id is one that exists (the rest are generated: unknown ids, 404s).
KNOWN_ID_PROBABILITY = 0.7


def _staff_call(stack: Stack, token: str, method: str, path: str, body: Any, **headers: str) -> Any:
    response = requests.request(
        method,
        f"{stack.gateway_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=30,
    )
    assert response.status_code in (200, 201), (path, response.status_code, response.text)
    return response.json()


def _seed(stack: Stack, token: str) -> dict[str, str]:
    """A client with a billing contact, a service type, a booked session and a store product in the
    demo practice."""
    client = _staff_call(stack, token, "POST", "/clients", {"first_name": "Fuzz", "last_name": "Client"})
    contact = _staff_call(
        stack,
        token,
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Fuzz Parent", "email": "parent@fuzz.localhost", "relationship": "parent"},
    )
    service = _staff_call(
        stack,
        token,
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "session", "unit_price": 15000},
    )
    start = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    session = _staff_call(
        stack,
        token,
        "POST",
        "/sessions",
        {
            "client_id": client["id"],
            "service_id": service["id"],
            "clinician_id": _staff_call(
                stack,
                token,
                "POST",
                "/staff",
                {"name": "Fuzz Clinician", "role": "clinician", "sign_in": False},
            )["id"],
            "scheduled_start": start.isoformat(),
        },
        **{"Idempotency-Key": f"fuzz-session-{uuid.uuid4()}"},
    )
    product = _staff_call(
        stack, token, "POST", "/shop/products", {"name": "Fuzz putty", "sku": "FUZZ-1", "price": 1000}
    )
    return {
        "client_id": client["id"],
        "contact_id": contact["id"],
        "service_id": service["id"],
        "session_id": session["id"],
        "product_id": product["id"],
    }


def _config(path: Path, known: dict[str, str], practice_id: str) -> Path:
    """A schemathesis configuration: path ids drawn from ``known`` most of the time."""
    lines = [f"[dictionaries.{name}]\nvalues = [{json.dumps(value)}]\n" for name, value in known.items()]
    lines.append(f'[dictionaries.practice_id]\nvalues = ["{practice_id}"]\n')
    lines.append("[parameters]")
    for name in [*known, "practice_id"]:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = {KNOWN_ID_PROBABILITY} }}')
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(
    document: str, base_url: str, token: str, config: Path, report: Path
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(DOCS / f"openapi-{document}.json"),
        "--url",
        base_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        PHASES,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-shrink",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False, cwd=DOCS.parent
    )


def _summary(output: str) -> str:
    lines = [line.strip() for line in output.splitlines()]
    keep = [line for line in lines if re.match(r"(Selected|Tested):|\d+ generated|=+ .* in [\d.]+s", line)]
    return "; ".join(keep)


@pytest.fixture(scope="module")
def staff_token(stack: Stack) -> str:
    """A staff owner's ID token for the demo practice, from the local token endpoint."""
    response = requests.post(
        f"{stack.gateway_url}/_local/token",
        json={"practice_id": stack.state["demo_practice_id"], "role": "owner", "sub": "user-fuzz-owner"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture(scope="module")
def known_ids(stack: Stack, staff_token: str) -> dict[str, str]:
    return _seed(stack, staff_token)


@pytest.mark.parametrize("document", ["staff", "public"])
def test_every_operation_answers_what_its_document_says(
    stack: Stack, staff_token: str, known_ids: dict[str, str], tmp_path: Path, document: str
) -> None:
    config = _config(tmp_path / "schemathesis.toml", known_ids, stack.state["demo_practice_id"])
    reports = Path(REPORT_DIR) if REPORT_DIR else tmp_path
    reports.mkdir(parents=True, exist_ok=True)
    result = _run(document, stack.gateway_url, staff_token, config, reports / f"junit-{document}.xml")
    (reports / f"schemathesis-{document}.txt").write_text(result.stdout + result.stderr)
    summary = _summary(result.stdout)
    print(f"schemathesis {document}: {summary}")
    assert result.returncode == 0, f"{summary}\n{result.stdout[-20000:]}\n{result.stderr[-4000:]}"
    tested = re.search(r"Tested: (\d+)", result.stdout)
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    assert tested and selected and tested.group(1) == selected.group(2), summary  # every operation
