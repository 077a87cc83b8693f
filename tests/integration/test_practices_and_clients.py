from tests.integration.conftest import new_practice_id
from tests.integration.scenario import create_client, create_practice


def test_a_practice_is_created_with_defaults_and_read_back(world):
    pid = new_practice_id()
    status, body = world.staff(
        "POST", "/practice", {"name": "Oak Therapy", "email": "a@oak.test"}, practice_id=pid
    )
    assert status == 201
    assert body["id"] == pid
    assert (body["time_zone"], body["cutoff_hour"], body["currency"]) == ("America/New_York", 23, "usd")
    assert body["stripe"] is None
    status, again = world.staff("GET", "/practice", practice_id=pid)
    assert status == 200 and again["name"] == "Oak Therapy"


def test_creating_the_same_practice_twice_is_a_conflict(world):
    pid = new_practice_id()
    world.staff("POST", "/practice", {"name": "Oak", "email": "a@oak.test"}, practice_id=pid)
    status, body = world.staff("POST", "/practice", {"name": "Other", "email": "b@oak.test"}, practice_id=pid)
    assert status == 409 and body["code"] == "already_exists"
    assert world.staff("GET", "/practice", practice_id=pid)[1]["name"] == "Oak"


def test_settings_update_checks_the_version(world):
    practice = create_practice(world, connect=False)
    status, body = world.staff(
        "PATCH",
        "/practice",
        {"cutoff_hour": 22, "time_zone": "Europe/London", "expected_version": 1},
        practice_id=practice.id,
    )
    assert status == 200 and body["cutoff_hour"] == 22 and body["version"] == 2
    status, body = world.staff(
        "PATCH", "/practice", {"cutoff_hour": 21, "expected_version": 1}, practice_id=practice.id
    )
    assert status == 409
    assert world.staff("GET", "/practice", practice_id=practice.id)[1]["cutoff_hour"] == 22


def test_only_an_owner_manages_the_practice(world):
    practice = create_practice(world, connect=False)
    status, body = world.staff(
        "PATCH", "/practice", {"cutoff_hour": 20}, practice_id=practice.id, role="front_desk"
    )
    assert status == 403 and body["code"] == "forbidden"


def test_connecting_stripe_follows_account_updated(world):
    practice = create_practice(world)
    _, body = world.staff("GET", "/practice", practice_id=practice.id)
    assert body["stripe"]["charges_enabled"] is True
    assert body["stripe"]["details_submitted"] is True


def test_a_stale_account_updated_changes_nothing(world):
    practice = create_practice(world)
    import json

    old = {
        "id": "evt_old_account",
        "object": "event",
        "type": "account.updated",
        "account": practice.account,
        "created": 1_000_000_000,
        "api_version": "2020-08-27",
        "data": {
            "object": {
                "id": practice.account,
                "object": "account",
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
            }
        },
    }
    status, _ = world.webhook(json.dumps(old))
    assert status == 200
    world.drain_queue()
    _, body = world.staff("GET", "/practice", practice_id=practice.id)
    assert body["stripe"]["charges_enabled"] is True


def test_clients_are_created_updated_and_listed_with_a_cursor(world):
    practice = create_practice(world, connect=False)
    ids = [create_client(world, practice, first_name=f"C{i}")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = world.staff("GET", "/clients", practice_id=practice.id, query=query)
        assert status == 200
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    status, body = world.staff(
        "PATCH", f"/clients/{ids[0]}", {"phone": "+1 555 0100"}, practice_id=practice.id
    )
    assert status == 200 and body["phone"] == "+1 555 0100" and body["version"] == 2


def test_a_cursor_from_another_practice_or_garbage_is_a_400(world):
    a = create_practice(world, connect=False)
    b = create_practice(world, connect=False)
    for i in range(3):
        create_client(world, a, first_name=f"A{i}")
    _, page = world.staff("GET", "/clients", practice_id=a.id, query={"limit": "1"})
    for cursor in (page["next_cursor"], "not-a-cursor", "e30="):
        status, body = world.staff("GET", "/clients", practice_id=b.id, query={"cursor": cursor})
        assert status == 400, body
        assert body["details"].get("field") == "cursor" or "cursor" in body["message"]


def test_billing_contacts_belong_to_their_client(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    status, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat Parent", "email": "pat@parent.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    assert status == 201
    _, contacts = world.staff("GET", f"/clients/{client['id']}/contacts", practice_id=practice.id)
    assert [c["id"] for c in contacts] == [contact["id"]]
    other = create_client(world, practice, first_name="Bo")
    status, _ = world.staff(
        "PATCH", f"/clients/{other['id']}/contacts/{contact['id']}", {"name": "X"}, practice_id=practice.id
    )
    assert status == 404
