"""The committed OpenAPI documents are the ones the typed routes generate (`make openapi`)."""

import json
from pathlib import Path

from scripts.openapi import generate

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_openapi_documents_are_current():
    for name, text in generate().items():
        committed = (DOCS / f"openapi-{name}.json").read_text()
        assert committed == text, f"docs/openapi-{name}.json is stale: run `make openapi`"


def test_every_staff_mutation_documents_its_body_and_errors():
    spec = json.loads((DOCS / "openapi-staff.json").read_text())
    charge = spec["paths"]["/clients/{client_id}/charges"]["post"]
    names = {p["name"].lower() for p in charge["parameters"]}
    assert "idempotency-key" in names
    assert "requestBody" in charge
