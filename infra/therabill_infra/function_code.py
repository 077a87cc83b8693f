"""The function code asset as deploy ships it: ``functions/`` staged, with compiled bytecode.

At synth, ``function_code_dir`` copies ``functions/`` (minus ``CODE_EXCLUDES``) into
``build/function-code/<hash>`` and compiles it there with the runtime's Python (see bytecode.py),
as unchecked-hash pycs whose paths name /var/task. The hash covers the sources and the compiling
interpreter, so an unchanged tree is staged once and gives the same asset (and no redeploy). When
the runtime's Python is not at hand, the staged tree is source only, and synth warns.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from therabill_infra import bytecode
from therabill_infra.paths import FUNCTION_CODE_BUILD_DIR, FUNCTIONS_DIR

# What the code asset leaves out of functions/ (each a name pattern for any path component).
CODE_EXCLUDES = [
    "**/__pycache__",
    "**/*.pyc",
    "**/.mypy_cache",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/tests",
    "**/test_*.py",
    "**/*.egg-info",
]
LAMBDA_TASK_ROOT = "/var/task"
KEEP_STAGED = 5  # the newest staged trees kept; older ones (earlier sources) are removed


@dataclass(frozen=True)
class FunctionCode:
    directory: Path
    python: str | None  # the interpreter that compiled it; None: source only


def is_excluded(relative: Path) -> bool:
    names = [pattern.removeprefix("**/") for pattern in CODE_EXCLUDES]
    return any(fnmatch.fnmatch(part, name) for part in relative.parts for name in names)


def code_files(source: Path = FUNCTIONS_DIR) -> list[Path]:
    """The files the asset ships, relative to ``source``, sorted."""
    return sorted(
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and not is_excluded(p.relative_to(source))
    )


def _interpreter_id(python: str | None) -> str:
    if python is None:
        return "source-only"
    out = subprocess.run(  # noqa: S603 - the runtime's interpreter, fixed arguments
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def function_code_dir(
    version: str, *, source: Path = FUNCTIONS_DIR, build_dir: Path = FUNCTION_CODE_BUILD_DIR
) -> FunctionCode:
    """Stage (once per content) and compile the function code for the runtime's Python
    ``version``; the directory the asset zips."""
    python = bytecode.find_runtime_python(version)
    files = code_files(source)
    digest = hashlib.sha256(_interpreter_id(python).encode())
    for rel in files:
        digest.update(str(rel).encode() + b"\0" + (source / rel).read_bytes() + b"\0")
    target = build_dir / digest.hexdigest()[:20]
    if target.is_dir():
        return FunctionCode(target, python)
    build_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=build_dir))
    try:
        for rel in files:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, staging / rel)
        if python is not None:
            bytecode.compile_tree(python, staging, LAMBDA_TASK_ROOT)
        try:
            os.rename(staging, target)  # atomic: a concurrent synth staged the same tree first
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune(build_dir, keep=target)
    return FunctionCode(target, python)


def _prune(build_dir: Path, *, keep: Path) -> None:
    staged = sorted(
        (p for p in build_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in staged[KEEP_STAGED:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
