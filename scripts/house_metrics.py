"""The house's shape in numbers: the largest modules, long functions, who imports the table
adapter, and cycles between capability packages. `uv run python scripts/house_metrics.py`."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "functions"
PKG = "therabill"
TABLE_ADAPTER = "therabill.adapters.dynamo"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST, module: str, is_pkg: bool) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    return {f for f in found if f.startswith(PKG)}


def _reasoned(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A comment saying why the function stays long: just above it (or its decorators), or on the
    first lines of its body."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    body = node.body
    docstring = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
    opening = body[1] if docstring and len(body) > 1 else body[0]  # the first statement after the docstring
    near = lines[max(0, first - 3) : first - 1] + lines[node.lineno - 1 : opening.lineno]
    return any("#" in line and "long" in line.lower() for line in near)


def _functions(tree: ast.AST, lines: list[str]) -> list[tuple[str, int, bool]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            out.append((node.name, length, _reasoned(lines, node)))
    return out


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def _cycles(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    pairs = set()
    for a, targets in graph.items():
        for b in targets:
            if a < b and a in graph.get(b, set()):
                pairs.add((a, b))
    return sorted(pairs)


def main() -> int:
    sizes: list[tuple[int, str]] = []
    long40: list[tuple[str, str, int, bool]] = []
    table_importers: list[str] = []
    pkg_graph: dict[str, set[str]] = defaultdict(set)
    modules = {}
    for path in sorted((ROOT / PKG).rglob("*.py")):
        module = _module_name(path)
        text = path.read_text()
        tree = ast.parse(text)
        modules[module] = path
        sizes.append((len(text.splitlines()), module))
        for name, length, reasoned in _functions(tree, text.splitlines()):
            if length > 40:
                long40.append((module, name, length, reasoned))
        imported = _imports(tree, module, path.name == "__init__.py")
        if any(i == TABLE_ADAPTER or i.startswith(TABLE_ADAPTER + ".") for i in imported):
            table_importers.append(module)
        src_pkg = _package(module)
        for target in imported:
            dst_pkg = _package(target) if target.count(".") >= 1 else None
            if target.count(".") == 1:  # "therabill.x" names a package or a top module
                dst_pkg = target.split(".")[1]
            if src_pkg and dst_pkg and src_pkg != dst_pkg and (ROOT / PKG / dst_pkg).is_dir():
                pkg_graph[src_pkg].add(dst_pkg)
    sizes.sort(reverse=True)
    print("ten largest modules (lines):")
    for n, module in sizes[:10]:
        print(f"  {n:5d}  {module}")
    over80 = [f for f in long40 if f[2] > 80]
    unexplained = [f for f in long40 if not f[3]]
    print(
        f"functions over 40 lines: {len(long40)}; over 80: {len(over80)}; "
        f"without a written reason: {len(unexplained)}"
    )
    for module, name, length, reasoned in sorted(long40, key=lambda f: -f[2]):
        print(f"  {length:4d}  {module}.{name}{'' if reasoned else '  (no reason written)'}")
    print(f"modules importing {TABLE_ADAPTER}: {len(table_importers)}")
    for module in table_importers:
        print(f"  {module}")
    over400 = [(n, m) for n, m in sizes if n > 400]
    print(f"modules over 400 lines: {len(over400)}")
    for n, module in over400:
        print(f"  {n:5d}  {module}")
    cycles = _cycles(pkg_graph)
    # ``adapters`` holds the table adapter (below the stores) and the adapters of the capabilities'
    # ports (above them): a pair with it is ports and adapters by design, counted apart.
    capability = [c for c in cycles if "adapters" not in c]
    print(f"two-package cycles between capabilities: {len(capability)}")
    for a, b in capability:
        print(f"  {a} <-> {b}")
    print(f"  (and {len(cycles) - len(capability)} with the adapters package: ports implemented there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
