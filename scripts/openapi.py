"""Writes (or, with --check, verifies) the OpenAPI documents generated from the typed routes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

DOCS = {
    "staff": (
        "therabill.api.staff",
        "Therabill staff API",
        "The practice's staff manage clients, cards, sessions, charges, invoices and the nightly "
        "run. Every request carries the staff user's Cognito ID token; the practice and the role "
        "come from its claims, never from the request. Money is an integer of minor units of the "
        "practice's currency (2500 is 25.00). Every refusal is a JSON ErrorBody.",
    ),
    "public": (
        "therabill.api.public",
        "Therabill public pages",
        "Pages a client opens without an account: card set-up, payment authentication, the "
        "booking pay page and the invoice pay page; and a practice's sign-up. Each page request "
        "authenticates itself with a signed, expiring token or an invoice number with its "
        "access code. Money is an integer of minor units (2500 is 25.00).",
    ),
}


def generate() -> dict[str, str]:
    import importlib  # noqa: PLC0415 - only when generating

    from therabill.api.documents import document  # noqa: PLC0415 - after the path is set

    out = {}
    for name, (module, title, description) in DOCS.items():
        app = importlib.import_module(module).app
        schema = document(app, title=title, description=description, staff=name == "staff")
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
