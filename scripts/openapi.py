"""Writes (or, with --check, verifies) the OpenAPI documents generated from the typed routes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

DOCS = {
    "staff": ("therabill.api.staff", "Therabill staff API"),
    "public": ("therabill.api.public", "Therabill public pages"),
}


def generate() -> dict[str, str]:
    import importlib  # noqa: PLC0415 - only when generating

    out = {}
    for name, (module, title) in DOCS.items():
        app = importlib.import_module(module).app
        schema = json.loads(app.get_openapi_json_schema(title=title, version="1"))
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for name, text in generate().items():
        path = ROOT / "docs" / f"openapi-{name}.json"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale OpenAPI documents: {', '.join(stale)}; run `make openapi`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
