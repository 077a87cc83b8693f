"""The dependency layer, built exactly as ``make deploy`` builds it, fits the runtime it ships to.

``make deploy`` runs ``make layer`` (``bash layers/build.sh``); the module builds the layer the same
way into a temporary directory (it needs PyPI, a few seconds with uv's cache) and checks it against
the runtime the stack deploys: every wheel installable on that runtime's Python, architecture and
glibc; the native code aarch64; Lambda's size limits; and no import of a module the runtime's Python
no longer has. ``make layer-check`` runs this module alone.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_cdk import aws_lambda as lambda_
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag

from therabill_infra.bytecode import find_runtime_python, source_only_message
from therabill_infra.functions import CODE_EXCLUDES
from therabill_infra.layer import ARCHITECTURE, python_runtime, python_version
from therabill_infra.paths import FUNCTIONS_DIR, LAYERS_DIR

pytestmark = pytest.mark.layer

MB = 1024 * 1024
UNZIPPED_LIMIT = 250 * MB  # function code and all its layers, unzipped
ZIPPED_DIRECT_UPLOAD_LIMIT = 50 * MB
ELF_MACHINE_AARCH64 = 183

# Modules the standard library dropped, by the Python version that dropped them (PEP 594, PEP 632).
REMOVED_IN = {
    (3, 12): {"asynchat", "asyncore", "distutils", "imp", "smtpd"},
    (3, 13): {
        "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "lib2to3", "mailcap", "msilib",
        "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "tkinter.tix",
        "uu", "xdrlib",
    },
}  # fmt: skip


def runtime_version() -> tuple[int, int]:
    major, minor = python_version().split(".")
    return int(major), int(minor)


def runtime_glibc(version: tuple[int, int]) -> tuple[int, int]:
    """The glibc of the Lambda runtime's OS: Amazon Linux 2023 from python3.12, Amazon Linux 2 before."""
    return (2, 34) if version >= (3, 12) else (2, 26)


def supported_tags(version: tuple[int, int], glibc: tuple[int, int]) -> set[Tag]:
    """The wheel tags pip would accept on CPython ``version``, aarch64 Linux with ``glibc``."""
    platforms = [f"manylinux_{glibc[0]}_{minor}_aarch64" for minor in range(glibc[1], 16, -1)]
    platforms.append("manylinux2014_aarch64")
    interpreter = f"cp{version[0]}{version[1]}"
    return set(cpython_tags(version, platforms=platforms)) | set(
        compatible_tags(version, interpreter, platforms=platforms)
    )


def wheel_tags(dist_info: Path) -> set[Tag]:
    lines = (dist_info / "WHEEL").read_text(encoding="utf-8").splitlines()
    return {tag for line in lines if line.startswith("Tag:") for tag in parse_tag(line[4:].strip())}


def removed_modules(version: tuple[int, int]) -> set[str]:
    return {name for since, names in REMOVED_IN.items() if since <= version for name in names}


def _is_guard(node: ast.AST) -> bool:
    """``try: ... except ImportError`` or an ``if`` on ``sys.version_info``: a fallback, not a use."""
    if isinstance(node, ast.Try):
        caught = {ast.unparse(handler.type) if handler.type else "" for handler in node.handlers}
        return bool(caught & {"", "ImportError", "ModuleNotFoundError", "Exception"}) or any(
            "ImportError" in name for name in caught
        )
    return isinstance(node, ast.If) and "version_info" in ast.unparse(node.test)


def unguarded_imports(source: str, removed: set[str]) -> list[tuple[int, str]]:
    """``(line, module)`` for each import of a removed module that nothing guards."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        hits = {m for name in names for m in removed if f"{name}.".startswith(f"{m}.")}
        if hits and not guarded:
            found.extend((node.lineno, hit) for hit in sorted(hits))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded or _is_guard(node))

    visit(_parse(source), guarded=False)
    return found


def _parse(source: str, tries: int = 3) -> ast.AST:
    """``ast.parse``, asked again when CPython 3.11's parser reports "AST constructor recursion
    depth mismatch": a CPython bug (fixed in later releases) that a thread left running by an
    earlier test in the same worker can trigger; the source itself is fine."""
    for attempt in range(tries):
        try:
            return ast.parse(source)
        except SystemError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def tree_size(root: Path, excluded: set[Path] | None = None) -> int:
    excluded = excluded or set()
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p not in excluded)


# ---------------------------------------------------------------- the checks themselves can fail
def test_the_tag_check_refuses_x86_and_too_new_glibc_and_accepts_the_runtime() -> None:
    tags = supported_tags((3, 13), (2, 34))
    assert Tag("cp313", "cp313", "manylinux_2_28_aarch64") in tags
    assert Tag("cp39", "abi3", "manylinux2014_aarch64") in tags
    assert Tag("py3", "none", "any") in tags
    assert Tag("cp313", "cp313", "manylinux_2_28_x86_64") not in tags
    assert Tag("cp313", "cp313", "manylinux_2_35_aarch64") not in tags
    assert Tag("cp312", "cp312", "manylinux_2_28_aarch64") not in tags
    assert Tag("cp313", "cp313", "manylinux_2_28_aarch64") not in supported_tags((3, 11), (2, 26))


def test_the_import_scan_finds_removed_modules_and_spares_guarded_fallbacks() -> None:
    removed = removed_modules((3, 13))
    source = (
        "import os\nimport imghdr\nfrom distutils.version import LooseVersion\n"
        "from tkinter import tix\n"
        "try:\n    import cgi\nexcept ImportError:\n    cgi = None\n"
        "import sys\nif sys.version_info < (3, 12):\n    import imp\n"
    )
    assert unguarded_imports(source, removed) == [(2, "imghdr"), (3, "distutils"), (4, "tkinter.tix")]
    assert unguarded_imports("import imghdr\n", removed_modules((3, 11))) == []


# ---------------------------------------------------------------- the layer deploy builds
@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``bash layers/build.sh``, as ``make layer`` runs it before ``cdk deploy``, into a temp dir."""
    out = tmp_path_factory.mktemp("layer")
    result = subprocess.run(
        ["bash", str(LAYERS_DIR / "build.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "UV_NO_PROGRESS": "1"},
        check=False,
    )
    assert result.returncode == 0, f"layers/build.sh failed:\n{result.stdout}\n{result.stderr}"
    yield out / "python"


def test_the_layer_is_built_for_the_runtime_and_architecture_the_stack_deploys(layer: Path) -> None:
    assert python_runtime().name == f"python{python_version()}"
    assert ARCHITECTURE.name == lambda_.Architecture.ARM_64.name
    version = runtime_version()
    accepted = supported_tags(version, runtime_glibc(version))
    dist_infos = sorted(layer.glob("*.dist-info"))
    assert {d.name.split("-")[0].lower() for d in dist_infos} >= {"pydantic", "stripe", "fpdf2", "pillow"}
    unfit = {d.name: sorted(map(str, wheel_tags(d))) for d in dist_infos if not wheel_tags(d) & accepted}
    assert not unfit, f"wheels that do not install on {python_runtime().name} arm64: {unfit}"


def test_the_layers_native_code_is_aarch64(layer: Path) -> None:
    libraries = [p for p in layer.rglob("*.so*") if p.is_file()]
    assert libraries, "pydantic-core and pillow ship native code"
    machines = {p.relative_to(layer): int.from_bytes(p.read_bytes()[18:20], "little") for p in libraries}
    assert {path: m for path, m in machines.items() if m != ELF_MACHINE_AARCH64} == {}


def test_function_and_layer_fit_lambdas_size_limits(layer: Path, tmp_path: Path) -> None:
    code_files = [
        p
        for p in FUNCTIONS_DIR.rglob("*")
        if p.is_file() and not any(p.match(pattern) or p.parent.match(pattern) for pattern in CODE_EXCLUDES)
    ]
    unzipped = tree_size(layer) + sum(p.stat().st_size for p in code_files)
    assert unzipped < UNZIPPED_LIMIT, f"{unzipped / MB:.0f} MB unzipped"

    archive = tmp_path / "layer.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(layer.rglob("*")):
            zipped.write(path, Path("python") / path.relative_to(layer))
    assert archive.stat().st_size < ZIPPED_DIRECT_UPLOAD_LIMIT, f"{archive.stat().st_size / MB:.0f} MB zipped"


def test_nothing_imports_a_module_the_runtimes_python_removed(layer: Path) -> None:
    removed = removed_modules(runtime_version())
    words = "|".join(sorted({module.split(".")[-1] for module in removed}))
    mentions = re.compile(rf"\b(?:{words})\b")
    sources = {
        path: path.read_text(encoding="utf-8", errors="replace")
        for root in (layer, FUNCTIONS_DIR / "therabill")
        for path in root.rglob("*.py")
    }
    assert len(sources) > 1000
    offenders = {
        f"{path}:{line}": module
        for path, source in sources.items()
        if mentions.search(source)  # parsing only what names a removed module keeps this fast
        for line, module in unguarded_imports(source, removed)
    }
    assert offenders == {}


def test_the_layer_ships_unchecked_hash_pycs_of_the_runtimes_python(layer: Path) -> None:
    """/opt is read-only in Lambda: bytecode the layer does not ship is compiled on every cold start."""
    python = find_runtime_python(python_version())
    if python is None:
        pytest.skip(source_only_message(python_version(), "the layer"))
    tag = "cpython-" + python_version().replace(".", "")
    magic = subprocess.run(
        [python, "-c", "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules = [p for p in layer.rglob("*.py") if "__pycache__" not in p.parts]
    missing = [p for p in modules if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()]
    assert not missing, f"{len(missing)} modules without bytecode, e.g. {missing[:5]}"
    for name in ("boto3/__init__", "pydantic/main", "aws_lambda_powertools/logging/logger"):
        source = layer / f"{name}.py"
        header = (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").read_bytes()[:8]
        assert header[:4].hex() == magic and int.from_bytes(header[4:8], "little") == 0b01, name
