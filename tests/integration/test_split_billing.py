"""Split billing: responsibility rules split a client's charges across billing parties,
each charged on their own card with their own receipt."""

from datetime import timedelta

import pytest

from tests.integration.scenario import create_client, create_practice, save_card
from tests.integration.test_services_pricing import create_service
from tests.integration.test_session_charges import body_text, ledger, mails
from tests.integration.test_sessions import START, act, book, completion


def contact(world, practice, client_id, name, mail):
    body = {"name": name, "email": mail, "relationship": "parent"}
    status, out = world.staff("POST", f"/clients/{client_id}/contacts", body, practice_id=practice.id)
    assert status == 201, out
    return out


def put_rules(world, practice, client_id, rules):
    return world.staff(
        "PUT", f"/clients/{client_id}/responsibility", {"rules": rules}, practice_id=practice.id
    )


@pytest.fixture
def family(world):
    practice = create_practice(world)
    client = create_client(world, practice, copay_amount=2_500)
    mom = contact(world, practice, client["id"], "Mia Parent", "mia@parent.test")
    dad = contact(world, practice, client["id"], "Dan Parent", "dan@parent.test")
    save_card(world, practice, client["id"], contact_id=mom["id"])
    save_card(world, practice, client["id"], contact_id=dad["id"])
    svc = create_service(world, practice)
    return practice, client, mom, dad, svc


def charges(world, practice, client_id):
    body = ledger(world, practice, client_id)
    return sorted(e["amount"] for e in body["entries"] if e["kind"] == "charge")


def test_one_parent_pays_sixty_percent_and_the_other_the_rest(world, family):
    practice, client, mom, dad, svc = family
    rules = [
        {
            "shares": [
                {"owner_id": mom["id"], "type": "percent", "value": 6000},
                {"owner_id": dad["id"], "type": "rest"},
            ]
        }
    ]
    status, out = put_rules(world, practice, client["id"], rules)
    assert status == 200 and out["version"] == 1, out
    assert world.staff("GET", f"/clients/{client['id']}/responsibility", practice_id=practice.id) == (
        200,
        out,
    )
    session = book(world, practice, client, svc)
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["copay"]["status"] == "charged", checked
    assert act(world, practice, session["id"], "check-in") == (200, checked)
    assert charges(world, practice, client["id"]) == [1_000, 1_500]
    mom_receipts = mails(world, "mia@parent.test", "Receipt")
    dad_receipts = mails(world, "dan@parent.test", "Receipt")
    assert len(mom_receipts) == 1 and len(dad_receipts) == 1
    assert mails(world, "ann@client.test", "Receipt") == []
    mom_text, dad_text = body_text(mom_receipts[0]), body_text(dad_receipts[0])
    assert "15.00" in mom_text and "Dan" not in mom_text and "dan@parent.test" not in mom_text
    assert "10.00" in dad_text and "Mia" not in dad_text and "mia@parent.test" not in dad_text


def test_a_fixed_share_and_the_client_pays_the_rest(world, family):
    practice, client, mom, _, svc = family
    rules = [
        {
            "shares": [
                {"owner_id": mom["id"], "type": "fixed", "value": 2_000},
                {"owner_id": client["id"], "type": "rest"},
            ]
        }
    ]
    assert put_rules(world, practice, client["id"], rules)[0] == 200
    session = book(world, practice, client, svc)
    _, checked = act(world, practice, session["id"], "check-in")
    # The client has no card: their 5.00 stays a balance; the parent's 20.00 is charged.
    assert checked["copay"]["status"] == "balance"
    assert charges(world, practice, client["id"]) == [500, 2_000]
    assert len(mails(world, "mia@parent.test", "Receipt")) == 1


def test_a_per_kind_rule(world, family):
    practice, client, mom, dad, svc = family
    rules = [
        {"kinds": ["copay"], "shares": [{"owner_id": dad["id"], "type": "rest"}]},
        {
            "kinds": ["session_fee"],
            "shares": [
                {"owner_id": mom["id"], "type": "percent", "value": 5000},
                {"owner_id": client["id"], "type": "rest"},
            ],
        },
    ]
    assert put_rules(world, practice, client["id"], rules)[0] == 200
    session = book(world, practice, client, svc)
    _, checked = act(world, practice, session["id"], "check-in")
    assert checked["copay"]["status"] == "charged"
    assert act(world, practice, session["id"], "complete", completion())[0] == 200
    # Insured: the copay (Dad's) is the client's only charge; the session's price is the claim's.
    assert charges(world, practice, client["id"]) == [2_500]
    # Self-pay from then on: the next session's price is split by the session_fee rule.
    status, _ = world.staff(
        "PATCH", f"/clients/{client['id']}", {"billing_type": "self_pay"}, practice_id=practice.id
    )
    assert status == 200
    later = START + timedelta(days=1)
    second = book(world, practice, client, svc, start=later)
    assert act(world, practice, second["id"], "check-in")[1]["copay"] is None
    _, done = act(world, practice, second["id"], "complete", completion(start=later))
    price = done["price"]["amount"]
    assert charges(world, practice, client["id"]) == sorted([2_500, price // 2, price - price // 2])
    assert mails(world, "mia@parent.test", "Receipt") == []


INVALID_RULES = [
    [{"shares": [{"owner_id": "MOM", "type": "percent", "value": 5000}]}],
    [{"shares": [{"owner_id": "MOM", "type": "rest"}, {"owner_id": "DAD", "type": "rest"}]}],
    [{"shares": [{"owner_id": "MOM", "type": "fixed"}, {"owner_id": "DAD", "type": "rest"}]}],
    [
        {"shares": [{"owner_id": "MOM", "type": "rest"}]},
        {"shares": [{"owner_id": "DAD", "type": "rest"}]},
    ],
    [{"shares": [{"owner_id": "MOM", "type": "rest", "value": 1}]}],
    [{"kinds": ["balance"], "shares": [{"owner_id": "MOM", "type": "rest"}]}],
    [],
]


def test_invalid_rules_are_refused_and_nothing_is_written(world, family, subtests):
    """One family for every case (each writes nothing, which each checks): a case is a subtest."""
    practice, client, mom, dad, _ = family
    for n, rules in enumerate(INVALID_RULES):
        with subtests.test(case=n):
            given = [
                {
                    **rule,
                    "shares": [
                        {**share, "owner_id": {"MOM": mom["id"], "DAD": dad["id"]}[share["owner_id"]]}
                        for share in rule["shares"]
                    ],
                }
                for rule in rules
            ]
            status, body = put_rules(world, practice, client["id"], given)
            assert status == 400, body
            status, _ = world.staff("GET", f"/clients/{client['id']}/responsibility", practice_id=practice.id)
            assert status == 404


def test_a_contact_of_another_client_is_refused(world, family):
    practice, client, _, _, _ = family
    other = create_client(world, practice, first_name="Bo", email="bo@client.test")
    stranger = contact(world, practice, other["id"], "Sam Stranger", "sam@stranger.test")
    rules = [{"shares": [{"owner_id": stranger["id"], "type": "rest"}]}]
    status, body = put_rules(world, practice, client["id"], rules)
    assert status == 400, body
    assert world.staff("GET", f"/clients/{client['id']}/responsibility", practice_id=practice.id)[0] == 404
