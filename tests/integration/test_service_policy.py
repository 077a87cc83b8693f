"""A service's own cancellation / no-show terms over the practice's ("per practice,
overridable per service"), and fee notices split per billing party."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.scenario import create_client, create_practice, save_card
from tests.integration.test_services_pricing import create_service
from tests.integration.test_session_charges import body_text, mails
from tests.integration.test_session_fees import POLICY, cancel, fee_mails, set_policy
from tests.integration.test_sessions import START, act, book
from tests.integration.test_split_billing import contact, put_rules
from therabill.core import keys

FLAT_20 = {"kind": "flat", "amount": {"amount": 2_000, "currency": "usd"}}
SHORT_WINDOW = {"late_cancellation": {"window_hours": 4, "tiers": [{"within_hours": 4, "fee": FLAT_20}]}}


def policy_of(world, practice, svc):
    return world.staff("GET", f"/services/{svc['id']}/cancellation-policy", practice_id=practice.id)


def put_override(world, practice, svc, override):
    return world.staff("PUT", f"/services/{svc['id']}/cancellation-policy", override, practice_id=practice.id)


@pytest.fixture
def practice_with_policy(world):
    practice = create_practice(world)
    set_policy(world, practice, POLICY)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    svc = create_service(world, practice)
    return practice, client, svc


def test_without_an_override_the_practice_policy_is_in_force(world, practice_with_policy):
    practice, _, svc = practice_with_policy
    status, body = policy_of(world, practice, svc)
    assert status == 200 and body["override"] is None
    assert body["effective"]["late_cancellation"]["window_hours"] == 24
    assert (
        world.staff("GET", f"/services/{svc['id']}", practice_id=practice.id)[1]["has_cancellation_policy"]
        is False
    )


def test_a_service_window_and_fee_replace_the_practice_ones(world, practice_with_policy):
    practice, client, svc = practice_with_policy
    status, body = put_override(world, practice, svc, SHORT_WINDOW)
    assert status == 200, body
    assert body["override"]["late_cancellation"]["window_hours"] == 4
    assert body["effective"]["late_cancellation"]["window_hours"] == 4
    # The parts the override does not name stay the practice's.
    assert body["effective"]["no_show_fee"] == POLICY["no_show_fee"]
    assert world.staff("GET", f"/services/{svc['id']}", practice_id=practice.id)[1]["has_cancellation_policy"]

    # 10 h before: late by the practice's 24 h window, not by the service's 4 h one.
    early = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, early, hours_before=10)
    assert cancelled["cancellation"]["late"] is False and cancelled["cancellation"]["window_hours"] == 4
    assert cancelled["fee"]["amount"] == 0 and cancelled["fee"]["status"] == "none"

    # 2 h before: late by the service's window; the service's 20.00, not the practice's tiers.
    world.clock.now = START - timedelta(days=3)
    late = book(world, practice, client, svc, start=START + timedelta(days=1))
    world.clock.now = START + timedelta(days=1) - timedelta(hours=2)
    status, cancelled = act(world, practice, late["id"], "cancel", {"cancelled_by": "client"})
    assert status == 200, cancelled
    assert cancelled["fee"]["amount"] == 2_000 and cancelled["fee"]["status"] == "charged"
    assert len(fee_mails(world)) == 1


def test_a_null_part_disables_it_for_the_service(world, practice_with_policy):
    practice, client, svc = practice_with_policy
    status, body = put_override(world, practice, svc, {"no_show_fee": None})
    assert status == 200 and body["effective"]["no_show_fee"] is None, body
    session = book(world, practice, client, svc)
    world.clock.now = START + timedelta(minutes=20)
    _, missed = act(world, practice, session["id"], "no-show")
    assert missed["fee"]["amount"] == 0 and missed["fee"]["status"] == "none", missed["fee"]


def test_deleting_the_override_restores_the_practice_policy(world, practice_with_policy):
    practice, _, svc = practice_with_policy
    assert put_override(world, practice, svc, SHORT_WINDOW)[0] == 200
    status, body = world.staff(
        "DELETE", f"/services/{svc['id']}/cancellation-policy", practice_id=practice.id
    )
    assert status == 200 and body["override"] is None
    assert body["effective"]["late_cancellation"]["window_hours"] == 24


@pytest.mark.parametrize(
    "override",
    [
        {"no_show_fee": {"kind": "flat", "amount": {"amount": 500, "currency": "eur"}}},  # not the currency
        {"late_cancellation": {"window_hours": 0, "tiers": []}},
        {"unknown": 1},
        {"no_show_fee": {"kind": "flat", "amount": {"amount": 5.5, "currency": "usd"}}},
        [],
    ],
)
def test_a_bad_override_is_refused_and_nothing_changes(world, practice_with_policy, override):
    practice, _, svc = practice_with_policy
    before = world.container.table.get(keys.practice_pk(practice.id), keys.service_sk(svc["id"]))
    status, body = put_override(world, practice, svc, override)
    assert 400 <= status < 500 and status != 404, body
    after = world.container.table.get(keys.practice_pk(practice.id), keys.service_sk(svc["id"]))
    assert after == before


def test_only_the_owner_sets_a_service_policy_and_other_practices_see_nothing(world, practice_with_policy):
    practice, _, svc = practice_with_policy
    status, _ = world.staff(
        "PUT",
        f"/services/{svc['id']}/cancellation-policy",
        SHORT_WINDOW,
        practice_id=practice.id,
        role="biller",
    )
    assert status == 403
    other = create_practice(world)
    for method, body in (("GET", None), ("PUT", SHORT_WINDOW), ("DELETE", None)):
        status, _ = world.staff(
            method, f"/services/{svc['id']}/cancellation-policy", body, practice_id=other.id
        )
        assert status == 404, method
    assert policy_of(world, practice, svc)[1]["override"] is None


def test_each_payer_is_told_only_their_own_share_of_a_fee(world):
    practice = create_practice(world)
    set_policy(world, practice, POLICY)
    client = create_client(world, practice)
    mom = contact(world, practice, client["id"], "Mia Parent", "mia@parent.test")
    dad = contact(world, practice, client["id"], "Dan Parent", "dan@parent.test")
    save_card(world, practice, client["id"], contact_id=mom["id"])
    save_card(world, practice, client["id"], contact_id=dad["id"])
    rules = [
        {
            "kinds": ["cancellation_fee"],
            "shares": [
                {"owner_id": mom["id"], "type": "percent", "value": 6000},
                {"owner_id": dad["id"], "type": "rest"},
            ],
        }
    ]
    assert put_rules(world, practice, client["id"], rules)[0] == 200
    svc = create_service(world, practice)
    session = book(world, practice, client, svc)
    _, cancelled = cancel(world, practice, session, hours_before=10)  # the 50.00 tier
    assert cancelled["fee"]["amount"] == 5_000 and cancelled["fee"]["status"] == "charged", cancelled["fee"]
    cancel(world, practice, session, hours_before=10)  # repeated: nobody is told twice
    mom_mail = mails(world, "mia@parent.test", "Cancellation policy fee")
    dad_mail = mails(world, "dan@parent.test", "Cancellation policy fee")
    assert len(mom_mail) == 1 and len(dad_mail) == 1
    assert "30.00" in mom_mail[0]["Subject"] and "20.00" in dad_mail[0]["Subject"]
    mom_text, dad_text = body_text(mom_mail[0]), body_text(dad_mail[0])
    assert "Your share of this fee is USD 30.00" in mom_text and "Dan" not in mom_text
    assert "Your share of this fee is USD 20.00" in dad_text and "Mia" not in dad_text
    assert fee_mails(world) == []  # the client pays no share here
