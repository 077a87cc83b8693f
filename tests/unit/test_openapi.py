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


MONEY_FIELDS = {
    "amount",
    "unit_price",
    "minimum_amount",
    "copay_amount",
    "max_amount",
    "deposit_amount",
    "value",
}


def _request_schemas(spec):
    """The component schemas a request body can reach."""
    schemas = spec["components"]["schemas"]
    todo = [
        content["schema"]
        for path in spec["paths"].values()
        for operation in path.values()
        for content in operation.get("requestBody", {}).get("content", {}).values()
    ]
    seen: dict[str, dict] = {}
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref and ref.rsplit("/", 1)[-1] not in seen:
                name = ref.rsplit("/", 1)[-1]
                seen[name] = schemas[name]
                todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return seen


def test_every_money_field_a_request_takes_is_a_bounded_integer_of_minor_units():
    checked = 0
    for name in ("staff", "public"):
        spec = json.loads((DOCS / f"openapi-{name}.json").read_text())
        for schema_name, schema in _request_schemas(spec).items():
            for field, prop in schema.get("properties", {}).items():
                if field not in MONEY_FIELDS or schema_name == "Money":
                    continue
                where = f"{name}: {schema_name}.{field}"
                if prop.get("$ref", "").endswith("/Money"):  # a flat fee: {amount, currency}
                    assert "minor units" in prop["description"] and "99,999,999" in prop["description"], where
                    checked += 1
                    continue
                members = [m for m in prop.get("anyOf", [prop]) if m.get("type") != "null"]
                for member in members:
                    assert member["type"] == "integer" and member["maximum"] == 99_999_999, where
                    assert "minor units" in prop.get("description", "") + member.get("description", ""), where
                    checked += 1
    assert checked >= 15  # charges, payments, refunds, caps, prices, fees, deposits, copays, shares, lines
