"""Under split billing a copay is one record for every billing party's part: when one party's
declined part is given up, the record stays as it was, so no invoice of it bills the other party's
paid part again; the practice's notice tells staff."""

from __future__ import annotations

from tests.fakes.card_behaviour import GENERIC_DECLINE, set_charge_decline
from tests.integration.conftest import World
from tests.integration.test_given_up_balances import _notices, _retry_until_given_up, _session
from tests.integration.test_sessions import act, book
from tests.integration.test_split_billing import charges, family, put_rules  # noqa: F401 - fixture
from therabill.core import keys
from therabill.core.ids import derived_id


def test_one_partys_given_up_copay_part_leaves_the_record_and_bills_no_one_twice(world: World, family):  # noqa: F811
    practice, client, mom, dad, svc = family
    rules = [
        {
            "shares": [
                {"owner_id": mom["id"], "type": "percent", "value": 6000},
                {"owner_id": dad["id"], "type": "rest"},
            ]
        }
    ]
    assert put_rules(world, practice, client["id"], rules)[0] == 200
    _, cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)
    dads = next(c for c in cards if c.get("owner_id") == dad["id"])
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client["id"], dads["id"]))
    set_charge_decline(world.stripe, item["payment_method_id"], GENERIC_DECLINE)

    session = book(world, practice, client, svc)
    status, checked = act(world, practice, session["id"], "check-in")
    assert status == 200 and checked["copay"]["status"] == "retrying", checked
    dads_payment = derived_id("pay", practice.id, f"copay:{session['id']}:{dad['id']}")

    _retry_until_given_up(world, practice, client["id"], dads_payment)
    world.deliver_stripe_events()

    copay = _session(world, practice, session["id"])["copay"]
    assert copay["status"] == "retrying", copay  # not an invoiceable balance: mom's part is paid
    assert len(_notices(world)) == 1  # the practice is told, once
    assert charges(world, practice, client["id"]) == [1_000, 1_500]  # each part posted once
