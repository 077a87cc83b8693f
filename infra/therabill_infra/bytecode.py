"""Compiled bytecode for the function code and the layer, made by the runtime's own Python.

Lambda unpacks the code to /var/task and the layer to /opt, both read-only: Python cannot write
``__pycache__`` there, so every module shipped without bytecode is compiled from source on every
cold start (a bare boto3 + Powertools import: about 130 ms with bytecode, 660 ms without). Only
the runtime's Python version can write pycs that the runtime loads (the magic number changes with
each minor version), so deploy compiles with a ``python3.X`` of the runtime's version when it finds
one (``find_runtime_python``), as *unchecked-hash* pycs: the interpreter never compares them with
the source (whose file times are meaningless in a zip), and they are the same bytes on every build.
When no such interpreter is found, the code ships as source and the build says so.

Also a script, for ``layers/build.sh``: ``python bytecode.py <dir> --prefix /opt/python
--python-version 3.13``; with ``--find`` it prints the interpreter (``make test-runtime-python``).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

# An explicit interpreter for the runtime's version (a path), tried before any other.
RUNTIME_PYTHON_ENV = "THERABILL_RUNTIME_PYTHON"


def python_reports(python: str, version: str) -> bool:
    """Whether ``python`` runs and is CPython ``version`` (pyenv's shims exist but may not run)."""
    try:
        out = subprocess.run(  # noqa: S603 - an interpreter found on this machine, fixed arguments
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.name)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):  # missing, not runnable, or hanging: not this one
        return False
    return out.returncode == 0 and out.stdout.split() == [version, "cpython"]


def _uv_python(version: str) -> str | None:
    uv = shutil.which("uv")
    if uv is None:
        return None
    try:
        out = subprocess.run(  # noqa: S603 - uv from PATH, fixed arguments
            [uv, "python", "find", "--no-project", version],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = out.stdout.strip()
    return found if out.returncode == 0 and found else None


def _pyenv_pythons(version: str) -> list[str]:
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))
    return sorted(found, reverse=True)


@cache
def find_runtime_python(version: str) -> str | None:
    """A CPython ``version`` interpreter: $THERABILL_RUNTIME_PYTHON, ``python<version>`` on PATH,
    uv's (``uv python find``), or pyenv's installs, the first that really is that version."""
    explicit = os.environ.get(RUNTIME_PYTHON_ENV)
    if explicit:
        if not python_reports(explicit, version):
            raise RuntimeError(f"{RUNTIME_PYTHON_ENV}={explicit} is not a working CPython {version}")
        return explicit
    lookups: list[Callable[[], list[str | None]]] = [
        lambda: [shutil.which(f"python{version}")],
        lambda: [_uv_python(version)],
        lambda: list(_pyenv_pythons(version)),
    ]
    for lookup in lookups:  # in order, and only as far as needed (uv takes a moment)
        for candidate in lookup():
            if candidate and python_reports(candidate, version):
                return candidate
    return None


def compile_tree(python: str, directory: Path, prefix: str) -> None:
    """Unchecked-hash pycs for every module under ``directory``, their paths as ``prefix`` (the
    directory's place in Lambda) so tracebacks name /var/task/... or /opt/python/..."""
    subprocess.run(  # noqa: S603 - the runtime's interpreter, fixed arguments
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(directory),
            "-p",
            prefix,
            str(directory),
        ],
        check=True,
        timeout=600,
    )


def source_only_message(version: str, what: str) -> str:
    return (
        f"no CPython {version} found ({RUNTIME_PYTHON_ENV}, python{version} on PATH, `uv python find "
        f"{version}`, pyenv): {what} ships as source only, and every cold start compiles it "
        f"(several hundred ms). Install Python {version} (`uv python install {version}`) and build again."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="compile a Lambda directory with the runtime's Python")
    parser.add_argument("directory", type=Path, nargs="?")
    parser.add_argument("--prefix", help="the directory's path in Lambda (/opt/python)")
    parser.add_argument("--python-version", required=True, help="the runtime's version, e.g. 3.13")
    parser.add_argument("--find", action="store_true", help="only print the interpreter (exit 1: none)")
    args = parser.parse_args(argv)
    python = find_runtime_python(args.python_version)
    if args.find:
        print(python or "", end="")
        return 0 if python else 1
    if args.directory is None or args.prefix is None:
        parser.error("a directory and --prefix are needed to compile")
    if python is None:
        print(f"WARNING: {source_only_message(args.python_version, str(args.directory))}", file=sys.stderr)
        return 0
    compile_tree(python, args.directory, args.prefix)
    print(f"compiled {args.directory} with {python} (unchecked-hash pycs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
