"""Service types and client pricing rules through the staff API."""

import pytest

from tests.integration.scenario import create_client, create_practice

THERAPY = {
    "name": "Psychotherapy, per minute",
    "cpt_code": "90837",
    "modifiers": ["95", "GT"],
    "unit": "minute",
    "unit_price": 300,
    "rounding": "up",
    "rounding_increment_minutes": 5,
    "minimum_minutes": 30,
    "default_duration_minutes": 53,
}


def create_service(world, practice, **over):
    status, body = world.staff("POST", "/services", {**THERAPY, **over}, practice_id=practice.id)
    assert status == 201, body
    return body


def test_a_service_is_created_listed_read_and_updated(world):
    practice = create_practice(world, connect=False)
    svc = create_service(world, practice)
    assert svc["id"].startswith("svc_") and svc["currency"] == "usd" and svc["version"] == 1
    assert svc["modifiers"] == ["95", "GT"] and svc["active"] is True
    assert world.staff("GET", f"/services/{svc['id']}", practice_id=practice.id) == (200, svc)
    status, listed = world.staff("GET", "/services", practice_id=practice.id)
    assert status == 200 and [s["id"] for s in listed] == [svc["id"]]
    status, updated = world.staff(
        "PATCH",
        f"/services/{svc['id']}",
        {"unit_price": 350, "modifiers": [], "expected_version": 1},
        practice_id=practice.id,
    )
    assert status == 200 and updated["unit_price"] == 350 and updated["modifiers"] == []
    assert updated["version"] == 2
    status, body = world.staff(
        "PATCH", f"/services/{svc['id']}", {"unit_price": 1, "expected_version": 1}, practice_id=practice.id
    )
    assert status == 409 and body["details"]["current_version"] == 2


def test_only_owners_and_billers_manage_services(world):
    practice = create_practice(world, connect=False)
    status, body = world.staff("POST", "/services", THERAPY, practice_id=practice.id, role="front_desk")
    assert status == 403 and body["code"] == "forbidden"
    status, _ = world.staff("POST", "/services", THERAPY, practice_id=practice.id, role="biller")
    assert status == 201
    assert world.staff("GET", "/services", practice_id=practice.id, role="clinician")[0] == 200


@pytest.mark.parametrize(
    "over",
    [
        {"cpt_code": "9083"},
        {"cpt_code": "9083X"},
        {"modifiers": ["95", "GT", "HO", "U1", "U2"]},
        {"modifiers": ["g"]},
        {"unit": "day"},
        {"unit_price": -1},
        {"unit_price": 10.5},
        {"rounding": "sideways"},
        {"rounding_increment_minutes": 0},
        {"default_duration_minutes": 0},
        {"name": ""},
        {"surprise": True},
    ],
)
def test_a_bad_service_is_a_400_and_writes_nothing(world, over):
    practice = create_practice(world, connect=False)
    before = world.container.table.query_all(f"P#{practice.id}")
    status, body = world.staff("POST", "/services", {**THERAPY, **over}, practice_id=practice.id)
    assert status == 400 and body["message"], body
    assert world.container.table.query_all(f"P#{practice.id}") == before


@pytest.mark.parametrize("body", [{"unit_price": None}, {"cpt_code": "1"}, {"version": 3}])
def test_a_bad_service_patch_is_a_400(world, body):
    practice = create_practice(world, connect=False)
    svc = create_service(world, practice)
    status, answer = world.staff("PATCH", f"/services/{svc['id']}", body, practice_id=practice.id)
    assert status == 400, answer
    assert world.staff("GET", f"/services/{svc['id']}", practice_id=practice.id)[1] == svc


def test_a_client_pricing_rule_is_put_read_replaced_and_deleted(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    path = f"/clients/{client['id']}/pricing/{svc['id']}"
    assert world.staff("GET", path, practice_id=practice.id)[0] == 404
    status, rule = world.staff("PUT", path, {"kind": "fixed", "amount": 100}, practice_id=practice.id)
    assert status == 200 and rule["amount"] == 100 and not rule["not_billed"] and rule["version"] == 1
    status, rule = world.staff("PUT", path, {"kind": "percent", "percent_bps": 0}, practice_id=practice.id)
    assert status == 200 and rule["not_billed"] and rule["amount"] is None and rule["version"] == 2
    assert world.staff("GET", path, practice_id=practice.id) == (200, rule)
    assert world.staff("DELETE", path, practice_id=practice.id)[0] == 204
    assert world.staff("DELETE", path, practice_id=practice.id)[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "fixed"},
        {"kind": "fixed", "amount": -1},
        {"kind": "fixed", "amount": 1.5},
        {"kind": "percent", "percent_bps": 10_001},
        {"kind": "percent", "amount": 100},
        {"kind": "fixed", "amount": 100, "percent_bps": 10},
        {"kind": "discount", "amount": 1},
    ],
)
def test_a_bad_pricing_rule_is_a_400_and_writes_nothing(world, body):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    before = world.container.table.query_all(f"P#{practice.id}")
    status, answer = world.staff(
        "PUT", f"/clients/{client['id']}/pricing/{svc['id']}", body, practice_id=practice.id
    )
    assert status == 400 and answer["message"], answer
    assert world.container.table.query_all(f"P#{practice.id}") == before


def test_a_rule_needs_an_existing_client_and_service(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    svc = create_service(world, practice)
    rule = {"kind": "fixed", "amount": 1}
    missing_svc = "svc_" + "0" * 26
    missing_cli = "cli_" + "0" * 26
    assert (
        world.staff("PUT", f"/clients/{client['id']}/pricing/{missing_svc}", rule, practice_id=practice.id)[0]
        == 404
    )
    assert (
        world.staff("PUT", f"/clients/{missing_cli}/pricing/{svc['id']}", rule, practice_id=practice.id)[0]
        == 404
    )
