"""The committed OpenAPI documents are the ones the typed routes generate (`make openapi`)."""

import json
import re
from pathlib import Path

import pytest
from scripts.openapi import generate

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_openapi_documents_are_current():
    for name, text in generate().items():
        committed = (DOCS / f"openapi-{name}.json").read_text()
        assert committed == text, f"docs/openapi-{name}.json is stale: run `make openapi`"


def test_the_charge_operation_documents_its_idempotency_key_and_body():
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


# -- the documents say what the APIs answer ----------------------------------------------------------
METHODS = ("get", "put", "post", "delete", "patch")
ERROR_REF = "#/components/schemas/ErrorBody"
# Money in any schema (request or response), by name; each says it is minor units.
MONEY_NAMES = re.compile(
    r"amount|price|total|balance|^paid$|credit|receivable|owed|revenue|^charges$|^refunds$|"
    r"adjustments|collected|^value$|^by_method$|^by_day$"
)


def _spec(name):
    return json.loads((DOCS / f"openapi-{name}.json").read_text())


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("name", ["staff", "public"])
def test_every_operation_is_described_and_every_refusal_carries_the_error_body(name):
    spec = _spec(name)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message"}
    for where, operation in _operations(spec):
        assert len(operation.get("description", "")) >= 10, where
        responses = operation["responses"]
        assert "422" not in responses, where  # a validation error is a 400
        assert {"400", "503"} <= set(responses), where
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), where
        successes = [s for s in responses if s.startswith("2")]
        assert successes, where
        for status, response in responses.items():
            assert response.get("description"), (where, status)
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (where, status)
            elif "application/json" in response.get("content", {}):
                schema = response["content"]["application/json"]["schema"]
                assert schema.get("type") != "string", (where, status, "JSON that is a string")


def test_the_staff_api_documents_the_cognito_id_token_and_its_401():
    spec = _spec("staff")
    scheme = spec["components"]["securitySchemes"]["CognitoIdToken"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert "ID token" in scheme["description"]
    assert spec["security"] == [{"CognitoIdToken": []}]
    for where, operation in _operations(spec):
        assert "401" in operation["responses"], where
    public = _spec("public")
    assert "securitySchemes" not in public.get("components", {}) and not public.get("security")


CREATES = {
    ("POST", "/practice"): "PracticeOut",
    ("POST", "/clients"): "ClientOut",
    ("POST", "/clients/{client_id}/contacts"): "ContactOut",
    ("POST", "/clients/{client_id}/setup-links"): "SetupLinkOut",
    ("POST", "/clients/{client_id}/charges"): "PaymentOut",
    ("POST", "/clients/{client_id}/payments/manual"): "ManualPaymentOut",
    ("POST", "/clients/{client_id}/payments/{payment_id}/refunds"): "RefundOut",
    ("POST", "/services"): "ServiceOut",
    ("POST", "/sessions"): "SessionOut",
    ("POST", "/invoices"): "InvoiceOut",
}


def test_every_create_documents_201_with_the_thing_it_made():
    spec = _spec("staff")
    for (method, path), model in CREATES.items():
        responses = spec["paths"][path][method.lower()]["responses"]
        assert "200" not in responses or path == "/invoices", path  # a replay
        schema = responses["201"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, (path, schema)
    removals = [w for w, op in _operations(spec) if w.startswith("DELETE") and "204" in op["responses"]]
    assert len(removals) >= 5 and all(
        "content" not in spec["paths"][w.split(" ")[1]]["delete"]["responses"]["204"] for w in removals
    )


def test_every_money_field_of_every_schema_says_minor_units():
    checked = 0
    for name in ("staff", "public"):
        for schema_name, schema in _spec(name)["components"]["schemas"].items():
            for field, prop in schema.get("properties", {}).items():
                if (
                    not MONEY_NAMES.search(field)
                    or prop.get("type") == "boolean"
                    or "$ref" in json.dumps(prop)
                ):
                    continue
                words = prop.get("description", "") + "".join(
                    m.get("description", "") for m in prop.get("anyOf", [])
                )
                assert "minor units" in words, f"{name}: {schema_name}.{field}"
                checked += 1
    assert checked >= 60


@pytest.mark.parametrize(
    ("path", "names"), [("/invoices", {"status", "client_id"}), ("/sessions", {"client_id", "date"})]
)
def test_a_list_that_needs_one_of_its_filters_says_so(path, names):
    operation = _spec("staff")["paths"][path]["get"]
    params = {p["name"]: p for p in operation["parameters"] if p["name"] in names}
    assert set(params) == names
    for param in params.values():
        assert "required unless" in param["description"], param
    assert "400" in operation["responses"]


def test_creates_link_to_the_operations_that_take_the_id_they_made():
    spec = _spec("staff")
    operation_ids = {op["operationId"] for _, op in _operations(spec)}
    links = spec["paths"]["/clients"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert "get_client_clients__client_id__get" in targets and len(links) >= 10
    for source in ("/clients", "/services", "/sessions", "/invoices", "/clients/{client_id}/contacts"):
        for link in spec["paths"][source]["post"]["responses"]["201"]["links"].values():
            assert link["operationId"] in operation_ids
            assert "$response.body#/id" in link["parameters"].values()
