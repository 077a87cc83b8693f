"""scripts/bootstrap.sh (``make setup``, CI's first step) on a machine where apt may be busy.

The script runs with a PATH of stubs: ``uv``, ``apt-get`` and ``id`` record what they were asked,
``chromium`` / ``pdftotext`` exist or not, and the real tools the script needs are linked in. apt's
lock is a temporary file that a separate process holds the way apt does (open, fcntl lock).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bootstrap.sh"
BASH = shutil.which("bash") or "/bin/bash"
REAL_TOOLS = ("dirname", "find", "cat", "sleep")

RECORDER = """#!{bash}
echo "${{0##*/}} $*" >> "{calls}"
"""
# apt-get fails its first $APT_UPDATE_FAILS updates, as when another apt holds the lists' lock.
APT_GET = """#!{bash}
echo "apt-get $*" >> "{calls}"
if [[ " $* " == *" update "* ]]; then
  n=$(cat "{calls}.updates" 2>/dev/null || echo 0); echo $((n + 1)) > "{calls}.updates"
  if (( n < ${{APT_UPDATE_FAILS:-0}} )); then
    echo "E: Could not get lock /var/lib/apt/lists/lock" >&2; exit 100
  fi
fi
"""
HOLD_LOCK = """
import fcntl, sys, time
with open(sys.argv[1], "w") as lock:
    fcntl.lockf(lock, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@dataclass
class Machine:
    bin: Path
    calls: Path
    lock: Path

    def stub(self, name: str, text: str = RECORDER) -> None:
        path = self.bin / name
        path.write_text(text.format(bash=BASH, calls=self.calls))
        path.chmod(0o755)

    def bootstrap(self, *, timeout: int = 30, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        result = subprocess.run(
            [BASH, str(SCRIPT)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                "PATH": str(self.bin),
                "HOME": os.environ.get("HOME", "/tmp"),
                "BOOTSTRAP_APT_LOCKS": str(self.lock),
                "BOOTSTRAP_APT_LOCK_TIMEOUT": str(timeout),
                "BOOTSTRAP_APT_POLL_SECONDS": "0.2",
                **env,
            },
        )
        return result, time.monotonic() - started

    def recorded(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    """uv, apt-get, root, but neither chromium nor pdftotext."""
    m = Machine(bin=tmp_path / "bin", calls=tmp_path / "calls", lock=tmp_path / "lock-frontend")
    m.bin.mkdir()
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real, tool
        (m.bin / tool).symlink_to(real)
    m.stub("uv")
    m.stub("apt-get", APT_GET)
    m.stub("id", f"#!{BASH}\necho 0\n")
    return m


@pytest.fixture
def hold_lock(machine: Machine) -> Iterator[object]:
    """Starts a process holding the lock for some seconds; returns it once it holds it."""
    holders: list[subprocess.Popen[str]] = []

    def hold(seconds: float) -> subprocess.Popen[str]:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(machine.lock), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        return holder

    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()


def installs(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("apt-get")]


def lock_timeout(call: str) -> int:
    match = re.search(r"-o DPkg::Lock::Timeout=(\d+)", call)
    assert match, call
    return int(match.group(1))


def test_a_machine_with_everything_syncs_and_leaves_apt_alone_even_while_it_is_busy(machine, hold_lock):
    machine.stub("chromium")
    machine.stub("pdftotext")
    hold_lock(60)

    result, took = machine.bootstrap(timeout=5)

    assert result.returncode == 0, result.stderr
    assert machine.recorded() == ["uv sync --frozen --quiet --compile-bytecode"]
    assert "waiting" not in result.stderr and took < 3
    assert result.stdout.splitlines()[-1] == "bootstrap: done"


def test_a_held_lock_is_waited_for_then_the_missing_packages_are_installed(machine, hold_lock):
    machine.stub("chromium")  # only poppler-utils is missing
    holder = hold_lock(2)

    result, took = machine.bootstrap(timeout=30)

    assert result.returncode == 0, result.stderr
    assert f"waiting for apt's lock, held by {holder.pid} (python" in result.stderr
    assert holder.poll() is not None and took >= 1.5
    update, install = installs(machine.recorded())
    assert update.endswith(" update") and install.endswith(" install -y poppler-utils")
    assert 0 < lock_timeout(install) <= lock_timeout(update) <= 30  # apt-get waits for dpkg's lock too


def test_a_lock_held_past_the_timeout_fails_naming_the_holder_and_installs_nothing(machine, hold_lock):
    holder = hold_lock(60)

    result, took = machine.bootstrap(timeout=1)

    assert result.returncode != 0
    assert f"apt is still locked after 1s by {holder.pid} (python" in result.stderr
    assert installs(machine.recorded()) == [] and took < 10
    assert "bootstrap: done" not in result.stdout


def test_an_update_that_loses_the_race_for_the_lists_lock_is_tried_again(machine):
    result, _ = machine.bootstrap(APT_UPDATE_FAILS="1")

    assert result.returncode == 0, result.stderr
    assert "apt-get update failed (apt busy?); trying again" in result.stderr
    calls = installs(machine.recorded())
    assert [c.split()[-1] for c in calls] == ["update", "update", "poppler-utils"]
    assert calls[-1].endswith("install -y chromium poppler-utils")


def test_an_update_that_keeps_failing_stops_after_three_tries(machine):
    result, _ = machine.bootstrap(APT_UPDATE_FAILS="9")

    assert result.returncode != 0
    assert "apt-get update failed 3 times" in result.stderr
    assert [c.split()[-1] for c in installs(machine.recorded())] == ["update"] * 3


def test_without_root_apt_is_not_tried_and_the_browser_tests_will_skip(machine):
    machine.stub("id", f"#!{BASH}\necho 1000\n")

    result, _ = machine.bootstrap()

    assert result.returncode == 0, result.stderr
    assert "chromium poppler-utils missing and apt-get unavailable" in result.stderr
    assert installs(machine.recorded()) == []
