"""Libraries log warnings, not chatter: fontTools (under the invoice PDF), fpdf, botocore, boto3,
urllib3 and stripe stay at WARNING in the functions and in the local system, while Therabill's own
loggers keep the level they are given."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.scenario import (
    charge,
    create_client,
    create_practice,
    save_card,
    standalone_invoice,
)
from therabill import contract
from therabill.observability import THIRD_PARTY_LOGGERS

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = (
    "fontTools",
    "fontTools.subset",
    "fpdf",
    "botocore",
    "botocore.credentials",
    "boto3",
    "urllib3",
    "stripe",
    "aws_lambda_powertools.event_handler.api_gateway",  # it logs each route's arguments at DEBUG
)

# A cold start of every function, as Lambda does it: import each handler, then report the levels.
COLD_START = """
import importlib, json, logging, sys
logging.basicConfig(level=logging.DEBUG)  # a root logger that lets everything through
for path in sys.argv[1:]:
    importlib.import_module(path.rpartition(".")[0])
names = ["therabill", *json.loads(sys.stdin.read())]
print(json.dumps({name: logging.getLogger(name).getEffectiveLevel() for name in names}))
"""

# `make run`'s logging set-up (devstack.run.main) and then an invoice PDF rendered in that process.
LOCAL_SYSTEM = """
import json, logging, sys
from devstack.run import configure_logging
configure_logging("INFO")
print(json.dumps({name: logging.getLogger(name).getEffectiveLevel()
                  for name in ["devstack.run", "root", *json.loads(sys.stdin.read())]}))
"""


def _run(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        input=json.dumps(LIBRARIES),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)]),
            **(env or {}),
        },
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("own_level", ["INFO", "DEBUG"])
def test_after_a_cold_start_libraries_log_warnings_and_therabill_keeps_its_level(own_level: str) -> None:
    handlers = sorted({spec.handler for spec in contract.FUNCTIONS})
    result = _run(COLD_START, *handlers, env={"POWERTOOLS_LOG_LEVEL": own_level})
    assert result.returncode == 0, result.stderr
    levels = json.loads(result.stdout)
    assert levels.pop("therabill") == logging.getLevelName(own_level)
    assert levels == dict.fromkeys(LIBRARIES, logging.WARNING)


def test_the_local_system_logs_at_info_but_libraries_at_warning() -> None:
    result = _run(LOCAL_SYSTEM)
    assert result.returncode == 0, result.stderr
    levels = json.loads(result.stdout)
    assert (levels.pop("devstack.run"), levels.pop("root")) == (logging.INFO, logging.INFO)
    assert levels == dict.fromkeys(LIBRARIES, logging.WARNING)


def test_every_library_named_is_quieted() -> None:
    assert set(THIRD_PARTY_LOGGERS) >= {
        "fontTools",
        "fpdf",
        "botocore",
        "boto3",
        "urllib3",
        "stripe",
        "aws_lambda_powertools",
    }


def test_paying_and_rendering_an_invoice_logs_nothing_from_libraries_at_info(world, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger, as a developer's basicConfig(level=DEBUG) would
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    status, charged = charge(world, practice, client["id"], 4_000)
    assert status == 201, charged
    other = create_client(world, practice, email="bo@client.test")  # no card: the invoice stays open
    invoice = standalone_invoice(world, practice, other["id"], 2_500)  # sent by email, with its PDF
    assert invoice["status"] == "open", invoice

    status, pdf = world.staff("GET", f"/invoices/{invoice['id']}/pdf", practice_id=practice.id)
    assert status == 200 and pdf, pdf

    chatter = [
        (r.name, r.levelname, r.getMessage()[:80])
        for r in caplog.records
        if r.levelno < logging.WARNING and r.name.split(".")[0] in THIRD_PARTY_LOGGERS
    ]
    assert chatter == []
