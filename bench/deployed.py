"""The code as Lambda runs it, for the cold-start bench: a read-only copy, and emulated AWS.

Lambda unpacks the function code to /var/task and the layer to /opt/python, both read-only: Python
cannot write ``__pycache__`` there, so whatever bytecode the asset does not ship is compiled from
source on every cold start. ``deployed_trees`` lays out the same two directories in a temporary
directory: the function code (``functions/`` minus what the asset leaves out) plus the bench's
baseline handler, and the locked runtime dependencies. In the ``compiled`` form both are compiled
as deploy compiles them (``compileall --invalidation-mode unchecked-hash``); in the ``source``
form they ship source only. The children then run with ``-S`` (no site-packages of any
environment) and ``PYTHONDONTWRITEBYTECODE=1`` (nothing written).

The interpreter is the runtime's Python (``layers/python-version``, found as deploy finds it:
infra/therabill_infra/bytecode.py) when this machine has it: the dependencies are then installed
for it by uv (from uv's cache or PyPI) for this machine's platform. Otherwise it is this Python,
and the dependencies are copied from this environment.

``emulator`` starts moto in server mode and provisions the resources, so that a handler's first
call really builds its clients and sends its first requests (over HTTP to localhost).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON_VERSION_FILE = ROOT / "layers" / "python-version"
FORMS = ("compiled", "source")


@dataclass(frozen=True)
class Interpreter:
    python: str
    version: str  # "3.13"
    is_runtimes: bool  # the Lambda runtime's version (layers/python-version)

    def describe(self) -> str:
        whose = "the Lambda runtime's version" if self.is_runtimes else "NOT the Lambda runtime's version"
        return f"Python {self.version} ({whose}: {self.python})"


def interpreter(prefer_runtime: bool = True) -> Interpreter:
    """The runtime's Python when this machine has it (and ``prefer_runtime``), else this one."""
    runtime_version = PYTHON_VERSION_FILE.read_text(encoding="utf-8").strip()
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if prefer_runtime and runtime_version != here:
        _infra()
        from therabill_infra.bytecode import find_runtime_python

        found = find_runtime_python(runtime_version)
        if found is not None:
            return Interpreter(found, runtime_version, is_runtimes=True)
    return Interpreter(sys.executable, here, is_runtimes=runtime_version == here)


@dataclass(frozen=True)
class Tree:
    form: str
    task: Path  # stands for /var/task
    layer: Path  # stands for /opt/python

    @property
    def pythonpath(self) -> str:
        return os.pathsep.join([str(self.task), str(self.layer)])


def _export() -> str:
    """The locked runtime dependencies as a requirements file (what layers/build.sh installs)."""
    return subprocess.run(
        [
            "uv",
            "export",
            "--no-dev",
            "--no-hashes",
            "--frozen",
            "--no-emit-project",
            "--format",
            "requirements-txt",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def runtime_distributions() -> list[str]:
    """The names of the locked runtime dependencies."""
    names = []
    for raw in _export().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "-")):
            names.append(line.split("==", 1)[0].split("[", 1)[0].strip())
    return names


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _copy_functions(task: Path) -> None:
    """The function code as the asset ships it (deploy's own file list), plus the baseline."""
    _infra()
    from therabill_infra.function_code import code_files

    src = ROOT / "functions"
    for rel in code_files(src):
        _link_or_copy(src / rel, task / rel)
    # The baseline and the floors, each as a function of its own.
    for name in ("__init__.py", "baseline_handler.py", "floor_model_handler.py", "floor_api_handler.py"):
        _link_or_copy(ROOT / "bench" / name, task / "bench" / name)


def _copy_layer(layer: Path, distributions: list[str]) -> None:
    for name in distributions:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:  # an environment marker left it out here
            continue
        base = Path(str(dist.locate_file(""))).resolve()
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file))).resolve()
            if path.suffix == ".pyc" or "__pycache__" in path.parts or not path.is_file():
                continue
            with contextlib.suppress(ValueError):  # files outside site-packages (scripts): skipped
                _link_or_copy(path, layer / path.relative_to(base))


def _install_layer(layer: Path, python: str) -> None:
    """The locked runtime dependencies installed for ``python`` (its version, this platform)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write(_export())
        requirements.flush()
        subprocess.run(
            [
                *("uv", "pip", "install", "--quiet", "--requirements", requirements.name),
                *("--target", str(layer), "--python", python, "--only-binary", ":all:", "--no-compile"),
            ],
            cwd=ROOT,
            check=True,
        )


def _infra() -> None:
    """infra/ on the path, for the deploy's own helpers (finding the runtime's Python, compiling)."""
    if str(ROOT / "infra") not in sys.path:
        sys.path.insert(0, str(ROOT / "infra"))


def compile_tree(python: str, *dirs: Path) -> None:
    """Bytecode exactly as deploy ships it (therabill_infra.bytecode.compile_tree: unchecked-hash
    pycs, named under Lambda's /var/task and /opt/python)."""
    _infra()
    from therabill_infra import bytecode

    task, *layers = dirs
    bytecode.compile_tree(python, task, "/var/task")
    for layer in layers:
        bytecode.compile_tree(python, layer, "/opt/python")


@contextlib.contextmanager
def deployed_trees(python: Interpreter) -> Iterator[dict[str, Tree]]:
    """One read-only-as-deployed tree per form in ``FORMS`` for ``python``; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="therabill-bench-") as tmp:
        installed = Path(tmp) / "installed"  # the dependencies once; each form links to them
        if python.python == sys.executable:
            _copy_layer(installed, runtime_distributions())
        else:
            _install_layer(installed, python.python)
        trees = {}
        for form in FORMS:
            tree = Tree(form, Path(tmp) / form / "task", Path(tmp) / form / "opt" / "python")
            _copy_functions(tree.task)
            for path in installed.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    _link_or_copy(path, tree.layer / path.relative_to(installed))
            if form == "compiled":
                compile_tree(python.python, tree.task, tree.layer)
            trees[form] = tree
        yield trees


@contextlib.contextmanager
def emulator() -> Iterator[dict[str, str]]:
    """moto in server mode with the resources provisioned; yields the functions' environment."""
    from devstack.processes import ChildProcess, child_env, free_port, python_module
    from devstack.resources import function_environment, provision
    from devstack.run import new_secrets

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="therabill-bench-moto-") as tmp:
        moto = ChildProcess(
            "moto",
            python_module("devstack.moto_server", "-H", "127.0.0.1", "-p", str(port)),
            log_path=Path(tmp) / "moto.log",
            cwd=ROOT,
            env=child_env(),
        )
        moto.start()
        try:
            moto.wait_ready(f"{url}/moto-api/", 60)
            import boto3

            session = boto3.Session(
                region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            with _endpoint(url):
                resources = provision(session, secrets=new_secrets(), prefix="therabill-bench")
                _admit_sample_staff(session.client("dynamodb"), resources.table_name)
            unused = "http://127.0.0.1:9"  # nothing listens: a first call must not reach Stripe
            env = function_environment(
                resources, public_base_url=unused, stripe_api_base=unused, stripe_js_url=f"{unused}/v3"
            )
            env["AWS_ENDPOINT_URL"] = url
            yield env
        finally:
            moto.stop()


def _admit_sample_staff(dynamodb: Any, table_name: str) -> None:
    """The staff member the staff API's sample event signs in as, active: its first call then
    passes the per-request check and is routed (GET /practice: 404, no such practice yet), as a
    real first request is, rather than refused before any router loads."""
    import json
    from datetime import UTC, datetime

    from therabill import contract
    from therabill.adapters.dynamo import Table
    from therabill.staff.models import StaffMember
    from therabill.staff.store import StaffStore

    event = json.loads((ROOT / "events" / "api" / "staff_get_practice.json").read_text(encoding="utf-8"))
    claims = event["requestContext"]["authorizer"]["claims"]
    member = StaffMember(
        id=claims[contract.CLAIM_STAFF_ID],
        practice_id=claims[contract.CLAIM_PRACTICE_ID],
        email=claims[contract.CLAIM_EMAIL],
        name="Bench staff member",
        role=claims[contract.CLAIM_ROLE],
        status="active",
        sub=claims[contract.CLAIM_SUBJECT],
        created_at=datetime.now(UTC),
        version=1,
    )
    StaffStore(Table(dynamodb, table_name)).create(member)


@contextlib.contextmanager
def _endpoint(url: str) -> Iterator[None]:
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved
