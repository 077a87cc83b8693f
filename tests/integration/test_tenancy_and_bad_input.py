"""A token of practice B can read or change nothing of practice A, whatever ids it sends; every
invalid request gets a 4xx with a reason and writes nothing."""

import pytest

from tests.integration.scenario import booking_key, clinician, create_client, create_practice, save_card


@pytest.fixture
def two_practices(world):
    a = create_practice(world)
    b = create_practice(world)
    client = create_client(world, a)
    card = save_card(world, a, client["id"])
    _, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat", "email": "pat@p.test", "relationship": "parent"},
        practice_id=a.id,
    )
    _, payment = world.staff(
        "POST",
        f"/clients/{client['id']}/charges",
        {"amount": 500, "kind": "copay"},
        practice_id=a.id,
        headers={"Idempotency-Key": "tenancy-key-1"},
    )
    _, service = world.staff(
        "POST",
        "/services",
        {"name": "Therapy", "cpt_code": "90837", "unit": "minute", "unit_price": 300},
        practice_id=a.id,
    )
    world.staff(
        "PUT",
        f"/clients/{client['id']}/pricing/{service['id']}",
        {"kind": "fixed", "amount": 1},
        practice_id=a.id,
    )
    _, session = world.staff(
        "POST",
        "/sessions",
        {
            "client_id": client["id"],
            "service_id": service["id"],
            "clinician_id": clinician(world, a),
            "scheduled_start": "2031-03-04T15:00:00Z",
        },
        practice_id=a.id,
        headers=booking_key(),
    )
    return a, b, client["id"], card["id"], contact["id"], payment["id"], service["id"], session["id"]


def routes(cid, card, contact, payment, svc="svc_none", ses="ses_none", stf="stf_none"):
    later = {"scheduled_start": "2031-03-05T15:00:00Z", "scheduled_end": "2031-03-05T16:00:00Z"}
    # Times that have passed: a completion that ends in the future is refused before any lookup.
    done = {"actual_start": "2024-03-04T15:00:00Z", "actual_end": "2024-03-04T16:00:00Z"}
    rest_rule = {"rules": [{"shares": [{"owner_id": cid, "type": "rest"}]}]}
    return [
        ("GET", f"/clients/{cid}", None),
        ("PATCH", f"/clients/{cid}", {"first_name": "Hacked"}),
        ("POST", f"/clients/{cid}/contacts", {"name": "X", "email": "x@x.test", "relationship": "x"}),
        ("GET", f"/clients/{cid}/contacts", None),
        ("PATCH", f"/clients/{cid}/contacts/{contact}", {"name": "Hacked"}),
        ("POST", f"/clients/{cid}/setup-links", {"scope": {"kinds": ["copay"]}}),
        ("GET", f"/clients/{cid}/cards", None),
        ("POST", f"/clients/{cid}/cards/{card}/default", None),
        ("GET", f"/clients/{cid}/cards/{card}/consent", None),
        ("DELETE", f"/clients/{cid}/cards/{card}", None),
        ("POST", f"/clients/{cid}/charges", {"amount": 100, "kind": "copay"}),
        ("GET", f"/clients/{cid}/payments/{payment}", None),
        ("GET", f"/clients/{cid}/ledger", None),
        ("GET", f"/services/{svc}", None),
        ("PATCH", f"/services/{svc}", {"unit_price": 1}),
        ("GET", f"/services/{svc}/cancellation-policy", None),
        ("PUT", f"/services/{svc}/cancellation-policy", {"no_show_fee": None}),
        ("DELETE", f"/services/{svc}/cancellation-policy", None),
        ("PUT", f"/clients/{cid}/pricing/{svc}", {"kind": "fixed", "amount": 0}),
        ("GET", f"/clients/{cid}/pricing/{svc}", None),
        ("DELETE", f"/clients/{cid}/pricing/{svc}", None),
        ("PUT", f"/clients/{cid}/responsibility", rest_rule),
        ("GET", f"/clients/{cid}/responsibility", None),
        ("POST", "/sessions", {"client_id": cid, "service_id": svc, "clinician_id": stf, **later}),
        ("GET", f"/sessions/{ses}", None),
        ("GET", f"/sessions?client_id={cid}", None),
        ("POST", f"/sessions/{ses}/reschedule", later),
        ("POST", f"/sessions/{ses}/check-in", None),
        ("POST", f"/sessions/{ses}/complete", done),
        ("POST", f"/sessions/{ses}/no-show", None),
        ("POST", f"/sessions/{ses}/cancel", {"cancelled_by": "practice"}),
        ("POST", f"/sessions/{ses}/waive-fee", None),
        ("GET", f"/services/{svc}/booking-payment", None),
        ("PUT", f"/services/{svc}/booking-payment", {"rule": {"kind": "prepayment"}}),
        ("DELETE", f"/services/{svc}/booking-payment", None),
        ("GET", f"/clients/{cid}/booking-payment", None),
        ("PUT", f"/clients/{cid}/booking-payment", {"rule": {"kind": "prepayment"}}),
        ("DELETE", f"/clients/{cid}/booking-payment", None),
    ]


def test_practice_b_cannot_reach_anything_of_practice_a(world, two_practices):
    a, b, cid, card, contact, payment, svc, ses = two_practices
    for method, path, body in routes(cid, card, contact, payment, svc, ses, clinician(world, b)):
        route, _, qs = path.partition("?")
        query = dict([qs.split("=")]) if qs else None
        status, answer = world.staff(
            method,
            route,
            body,
            practice_id=b.id,
            headers={"Idempotency-Key": "tenancy-attack-1"},
            query=query,
        )
        assert status == 404, (method, path, status, answer)
    # And A's data is untouched.
    _, client = world.staff("GET", f"/clients/{cid}", practice_id=a.id)
    assert client["first_name"] == "Ann" and client["version"] == 1
    _, cards = world.staff("GET", f"/clients/{cid}/cards", practice_id=a.id)
    assert [c["id"] for c in cards] == [card]
    _, ledger = world.staff("GET", f"/clients/{cid}/ledger", practice_id=a.id)
    assert len(ledger["entries"]) == 1
    _, service = world.staff("GET", f"/services/{svc}", practice_id=a.id)
    assert service["unit_price"] == 300 and service["version"] == 1
    _, rule = world.staff("GET", f"/clients/{cid}/pricing/{svc}", practice_id=a.id)
    assert rule["amount"] == 1
    _, session = world.staff("GET", f"/sessions/{ses}", practice_id=a.id)
    assert session["status"] == "booked" and session["version"] == 1
    _, listed = world.staff("GET", "/sessions", practice_id=b.id, query={"date": "2031-03-04"})
    assert listed["items"] == []
    _, listed = world.staff("GET", "/services", practice_id=b.id)
    assert listed == []


def test_practice_b_lists_none_of_practice_as_clients(world, two_practices):
    _, b, *_ = two_practices
    _, page = world.staff("GET", "/clients", practice_id=b.id)
    assert page["items"] == []


def test_a_request_without_claims_is_unauthorized(world):
    from devstack import apigw

    handler = world.handler("staff_api")
    for claims in (None, {"sub": "x"}, {"sub": "x", "custom:practice_id": "prc_bad", "custom:role": "owner"}):
        response = handler(apigw.rest_event("GET", "/practice", claims=claims), apigw.LambdaContext())
        assert response["statusCode"] == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/practice", {"name": "", "email": "a@b.test"}, {}),
        ("POST", "/practice", {"name": "X", "email": "not-an-email"}, {}),
        ("POST", "/practice", {"name": "X", "email": "a@b.test", "time_zone": "Mars/Olympus"}, {}),
        ("POST", "/practice", {"name": "X", "email": "a@b.test", "cutoff_hour": 24}, {}),
        ("POST", "/practice", {"name": "X", "email": "a@b.test", "surprise": 1}, {}),
        ("POST", "/practice", "{not json", {}),
        ("POST", "/clients", {"first_name": "A"}, {}),
        ("POST", "/clients", {"first_name": "A", "last_name": "B", "phone": "call me"}, {}),
        ("GET", "/clients", None, {}),  # limit below
        ("POST", "/clients/{cid}/charges", {"amount": 100, "kind": "copay"}, {}),  # no key
        (
            "POST",
            "/clients/{cid}/charges",
            {"amount": -5, "kind": "copay"},
            {"Idempotency-Key": "k-negative-1"},
        ),
        (
            "POST",
            "/clients/{cid}/charges",
            {"amount": 10.5, "kind": "copay"},
            {"Idempotency-Key": "k-float-1"},
        ),
        (
            "POST",
            "/clients/{cid}/charges",
            {"amount": 100, "kind": "therapy"},
            {"Idempotency-Key": "k-kind-1"},
        ),
        ("POST", "/clients/{cid}/setup-links", {"scope": {"kinds": []}}, {}),
        (
            "POST",
            "/clients/{cid}/setup-links",
            {"scope": {"kinds": ["copay"], "expires_at": "2030-01-01T00:00:00"}},
            {},
        ),
        ("GET", "/clients/not an id", None, {}),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason_and_writes_nothing(world, method, path, body, headers):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    path = path.replace("{cid}", client["id"])
    query = {"limit": "0"} if path == "/clients" and method == "GET" else None
    before = world.container.table.query_all(f"P#{practice.id}")
    status, answer = world.staff(method, path, body, practice_id=practice.id, headers=headers, query=query)
    assert 400 <= status < 500, (status, answer)
    if isinstance(answer, dict):
        assert answer["message"]
    assert world.container.table.query_all(f"P#{practice.id}") == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/practice", {"name": None}),
        ("/practice", {"time_zone": None}),
        ("/practice", {"cutoff_hour": None}),
        ("/clients/{cid}", {"first_name": None}),
        ("/clients/{cid}", {"last_name": "Line\nBreak"}),
        ("/clients/{cid}/contacts/{con}", {"email": None}),
    ],
)
def test_null_or_control_characters_in_a_patch_are_refused_and_the_item_still_reads(world, path, body):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    _, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat", "email": "pat@p.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    path = path.replace("{cid}", client["id"]).replace("{con}", contact["id"])
    status, answer = world.staff("PATCH", path, body, practice_id=practice.id)
    assert status == 400, answer
    assert world.staff("GET", "/practice", practice_id=practice.id)[0] == 200
    assert world.staff("GET", "/clients", practice_id=practice.id)[0] == 200


def test_a_client_email_and_phone_can_be_cleared(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice, phone="+1 555 0100")
    status, body = world.staff(
        "PATCH", f"/clients/{client['id']}", {"email": None, "phone": None}, practice_id=practice.id
    )
    assert status == 200 and body["email"] is None and body["phone"] is None


def test_an_unsupported_currency_is_refused(world):
    status, body = world.staff(
        "POST",
        "/practice",
        {"name": "X", "email": "a@b.test", "currency": "kwd"},
        practice_id="prc_" + "0" * 26,
    )
    assert status == 400 and "currency" in body["message"]
