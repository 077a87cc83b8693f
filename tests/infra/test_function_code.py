"""The function code asset is built as deploy builds it: ``functions/`` minus the excludes, with
unchecked-hash pycs compiled by the runtime's Python when one is at hand, source only otherwise."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from therabill_infra import bytecode, function_code
from therabill_infra.function_code import code_files, function_code_dir
from therabill_infra.layer import python_version
from therabill_infra.paths import FUNCTIONS_DIR

UNCHECKED_HASH = 0b01  # PEP 552: hash-based (bit 0), not checked against the source (bit 1 clear)


def runtime_python() -> str:
    python = bytecode.find_runtime_python(python_version())
    if python is None:
        pytest.skip(bytecode.source_only_message(python_version(), "the function code"))
    return python


def pyc_header(path: Path) -> tuple[bytes, int]:
    head = path.read_bytes()[:8]
    return head[:4], int.from_bytes(head[4:8], "little")


def magic_of(python: str) -> bytes:
    out = subprocess.run(
        [python, "-c", "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return bytes.fromhex(out.stdout)


def test_the_excludes_leave_out_caches_and_tests_and_keep_the_code() -> None:
    assert function_code.is_excluded(Path("therabill/__pycache__/wiring.cpython-311.pyc"))
    assert function_code.is_excluded(Path("therabill/tests/test_x.py"))
    assert function_code.is_excluded(Path("therabill/api/test_staff.py"))
    assert not function_code.is_excluded(Path("therabill/api/staff.py"))
    shipped = {str(p) for p in code_files()}
    assert "therabill/entrypoints/staff_api.py" in shipped
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in shipped)


def test_the_staged_code_has_an_unchecked_hash_pyc_of_the_runtimes_python_for_every_module(
    tmp_path: Path,
) -> None:
    python = runtime_python()
    staged = function_code_dir(python_version(), build_dir=tmp_path)
    assert staged.python == python
    sources = [p for p in code_files(FUNCTIONS_DIR) if p.suffix == ".py"]
    assert len(sources) > 100
    tag = "cpython-" + python_version().replace(".", "")
    magic = magic_of(python)
    for rel in sources:
        pyc = staged.directory / rel.parent / "__pycache__" / f"{rel.stem}.{tag}.pyc"
        assert pyc.is_file(), f"no bytecode for {rel}"
        assert pyc_header(pyc) == (magic, UNCHECKED_HASH), rel
    # The code objects name the module where Lambda runs it, for tracebacks.
    entry = staged.directory / "therabill/entrypoints/__pycache__" / f"staff_api.{tag}.pyc"
    script = (
        "import marshal, sys; f = open(sys.argv[1], 'rb'); f.seek(16); print(marshal.load(f).co_filename)"
    )
    out = subprocess.run([python, "-c", script, str(entry)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "/var/task/therabill/entrypoints/staff_api.py"


def test_the_same_sources_stage_once_to_the_same_directory(tmp_path: Path) -> None:
    first = function_code_dir(python_version(), build_dir=tmp_path)
    second = function_code_dir(python_version(), build_dir=tmp_path)
    assert first.directory == second.directory
    assert [p.name for p in tmp_path.iterdir()] == [first.directory.name]


def test_without_the_runtimes_python_the_code_ships_as_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bytecode, "find_runtime_python", lambda version: None)
    staged = function_code_dir(python_version(), build_dir=tmp_path)
    assert staged.python is None
    shipped = sorted(p.relative_to(staged.directory) for p in staged.directory.rglob("*") if p.is_file())
    assert shipped == code_files(FUNCTIONS_DIR)


def test_a_python_of_another_version_is_not_taken_for_the_runtimes(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert bytecode.python_reports(sys.executable, here)
    assert not bytecode.python_reports(sys.executable, "3.99")
    assert not bytecode.python_reports("/nonexistent/python3.13", "3.13")
    monkeypatch.setenv(bytecode.RUNTIME_PYTHON_ENV, sys.executable)
    bytecode.find_runtime_python.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"not a working CPython 3\.99"):
            bytecode.find_runtime_python("3.99")
        assert bytecode.find_runtime_python(here) == sys.executable
    finally:
        bytecode.find_runtime_python.cache_clear()


def test_the_stack_deploys_the_staged_code(tmp_path: Path) -> None:
    """Every function's code asset in a synthesized app is the staged tree (with its pycs)."""
    from therabill_infra.app_factory import build_app

    app, stack = build_app({"use_placeholder_layer": True}, outdir=tmp_path, nag=False)
    app.synth()
    template = json.loads((tmp_path / f"{stack.stack_name}.template.json").read_text())
    keys = {
        r["Properties"]["Code"]["S3Key"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "S3Key" in r["Properties"].get("Code", {})
    }
    assert len(keys) == 1, keys  # one asset for every function
    asset = tmp_path / f"asset.{next(iter(keys)).removesuffix('.zip')}"
    staged = function_code_dir(python_version())
    shipped = sorted(p.relative_to(asset) for p in asset.rglob("*") if p.is_file())
    assert shipped == sorted(
        p.relative_to(staged.directory) for p in staged.directory.rglob("*") if p.is_file()
    )
    if staged.python is not None:
        assert any(p.suffix == ".pyc" for p in shipped)


def test_the_layer_build_step_warns_and_ships_source_without_the_runtimes_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "module.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(bytecode, "find_runtime_python", lambda version: None)
    assert bytecode.main([str(tmp_path), "--prefix", "/opt/python", "--python-version", "3.13"]) == 0
    assert "ships as source only" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["module.py"]


def test_a_python_that_hangs_is_not_taken_and_synth_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def hangs(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(cmd="python3.13", timeout=30)

    monkeypatch.setattr(bytecode.subprocess, "run", hangs)
    assert not bytecode.python_reports("/usr/bin/python3.13", "3.13")
