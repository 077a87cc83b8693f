"""Credits staff grant, through the staff API: posted once per Idempotency-Key with a reason, applied
to the next amount due like any credit, and taken back (what is unused of it, once) as a new entry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.scenario import completed_session, create_client, create_practice
from tests.integration.test_audit_trail import records
from therabill.ledger.errors import CreditTakenBackError


def grant(world, practice, client_id, body, key="credit-key-0001", role="owner"):
    return world.staff(
        "POST",
        f"/clients/{client_id}/credits",
        body,
        practice_id=practice.id,
        role=role,
        headers={"Idempotency-Key": key},
    )


def take_back(world, practice, client_id, credit_id, body=None, key="take-back-0001"):
    return world.staff(
        "POST",
        f"/clients/{client_id}/credits/{credit_id}/take-back",
        body or {},
        practice_id=practice.id,
        headers={"Idempotency-Key": key},
    )


def accounts(world, practice, client_id):
    status, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200, body
    return {a["owner_id"]: (a["receivable"], a["credit"]) for a in body["accounts"]}, body["entries"]


def test_a_goodwill_credit_posts_once_and_pays_the_next_session(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    body = {"amount": 2_000, "reason": "goodwill", "memo": "sorry for the wait"}
    status, credit = grant(world, practice, client["id"], body)
    assert status == 201, credit
    assert (credit["amount"], credit["reason"], credit["contact_id"], credit["taken_back"]) == (
        2_000,
        "goodwill",
        None,
        None,
    )
    assert credit["memo"] == "Goodwill credit — sorry for the wait"
    assert grant(world, practice, client["id"], body) == (201, credit)  # the same key: the same credit
    status, refused = grant(world, practice, client["id"], {**body, "amount": 2_500})
    assert status == 409 and "another credit" in refused["message"], refused
    assert accounts(world, practice, client["id"])[0] == {None: (0, 2_000)}
    (record,) = records(world, practice.id, "credit.grant")
    assert (record["amount"]["N"], record["entry_id"]["S"]) == ("2000", credit["entry_id"])

    completed_session(world, practice, client["id"])  # a 120.00 charge: the credit pays 20.00 of it
    balances, entries = accounts(world, practice, client["id"])
    assert balances == {None: (10_000, 0)}
    assert [e["kind"] for e in entries] == ["credit", "charge", "payment"]
    assert entries[2]["method"] == "credit" and entries[2]["amount"] == 2_000


def test_taking_back_is_a_new_entry_once_and_never_more_than_is_unused(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    _, credit = grant(world, practice, client["id"], {"amount": 5_000, "reason": "paid_outside_stripe"})
    cid = credit["id"]
    world.clock.now += timedelta(minutes=1)  # entries sort by posting time
    status, refused = take_back(world, practice, client["id"], cid, {"amount": 5_001})
    assert status == 409 and refused["details"]["unused"] == 5_000, refused
    status, back = take_back(world, practice, client["id"], cid, {"amount": 3_000, "memo": "entered twice"})
    assert status == 201, back
    assert back["taken_back"]["amount"] == 3_000 and back["amount"] == 5_000  # the grant is as it was
    assert take_back(world, practice, client["id"], cid, {"amount": 3_000, "memo": "entered twice"}) == (
        201,
        back,
    )
    status, again = take_back(world, practice, client["id"], cid, {"amount": 1_000}, key="take-back-0002")
    assert status == 409 and again["details"]["entry_id"] == back["taken_back"]["entry_id"], again
    balances, entries = accounts(world, practice, client["id"])
    assert balances == {None: (0, 2_000)}
    assert [(e["kind"], e["amount"]) for e in entries] == [("credit", 5_000), ("credit_reversal", 3_000)]
    assert {line["account"]: line["amount"] for line in entries[1]["lines"]} == {
        "credit": 3_000,
        "cash:other": -3_000,
    }
    assert len(records(world, practice.id, "credit.take_back")) == 1
    status, shown = world.staff("GET", f"/clients/{client['id']}/credits/{cid}", practice_id=practice.id)
    assert (status, shown) == (200, back)


def test_credit_already_applied_cannot_be_taken_back(world):
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    _, credit = grant(world, practice, client["id"], {"amount": 5_000, "reason": "discount"})
    completed_session(world, practice, client["id"])  # the credit is spent on the 120.00 charge
    status, refused = take_back(world, practice, client["id"], credit["id"])
    assert status == 409 and refused["details"]["unused"] == 0, refused
    assert [e["kind"] for e in accounts(world, practice, client["id"])[1]] == ["credit", "charge", "payment"]


def test_two_take_backs_at_once_post_one(world):
    """Both read the credit on hand before either posts: the second request's read lets the first
    one post in between (the interleaving of two at once, made certain); the guard of the credit's
    take-back then refuses the second."""
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    _, credit = grant(world, practice, client["id"], {"amount": 4_000, "reason": "goodwill"})
    ledger, credits = world.container.ledger, world.container.staff_credits
    read = ledger.account
    first: list[object] = []

    def take(key):
        return credits.take_back(
            practice.id,
            client_id=client["id"],
            credit_id=credit["id"],
            request_key=key,
            amount=4_000,
            memo="",
        )

    def racing_account(*args, **kwargs):
        found = read(*args, **kwargs)  # 40.00 on hand, as the second request sees it
        if not first:
            first.append(None)
            first[0] = take("first-key-0001")  # the first request posts meanwhile
        return found

    ledger.account = racing_account
    try:
        with pytest.raises(CreditTakenBackError):
            take("second-key-0001")
    finally:
        ledger.account = read
    assert first[0].taken_back.amount.amount == 4_000
    assert accounts(world, practice, client["id"])[0] == {None: (0, 0)}
    assert take("first-key-0001").taken_back == first[0].taken_back  # the first again: its answer


def test_a_contacts_account_tenancy_roles_and_bad_input(world):
    practice = create_practice(world, connect=False)
    other = create_practice(world, connect=False)
    client = create_client(world, practice)
    stranger = create_client(world, other)
    _, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat Parent", "email": "pat@parent.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    body = {"amount": 1_500, "reason": "goodwill", "contact_id": contact["id"]}
    status, credit = grant(world, practice, client["id"], body)
    assert status == 201 and credit["contact_id"] == contact["id"], credit
    assert accounts(world, practice, client["id"])[0] == {contact["id"]: (0, 1_500)}
    # Another practice's client, its contact, or credit: as if absent.
    assert grant(world, other, client["id"], {"amount": 100, "reason": "goodwill"}, key="k-other-1")[0] == 404
    assert grant(world, other, stranger["id"], body, key="k-other-2")[0] == 404
    assert take_back(world, other, stranger["id"], credit["id"])[0] == 404
    assert grant(world, practice, client["id"], body, role="front_desk", key="k-role-01")[0] == 403
    for bad, field in (
        ({"amount": 0, "reason": "goodwill"}, "amount"),
        ({"amount": 100, "reason": "bribe"}, "reason"),
        ({"amount": 1.5, "reason": "goodwill"}, "amount"),
        ({"amount": 100, "reason": "goodwill", "extra": 1}, "extra"),
    ):
        status, refused = grant(world, practice, client["id"], bad, key="k-bad-0001")
        assert status == 400 and field in str(refused["details"]), (bad, refused)
    status, refused = world.staff(
        "POST",
        f"/clients/{client['id']}/credits",
        {"amount": 100, "reason": "goodwill"},
        practice_id=practice.id,
    )
    assert status == 400 and "idempotency-key" in str(refused).lower(), refused
    assert len(accounts(world, practice, client["id"])[1]) == 1  # nothing else was written


def test_a_spent_credit_cannot_take_back_money_that_came_in_after_it(world):
    """Credit is spent oldest first: a 50.00 discount used up by a 120.00 session is gone; the
    client's 30.00 left over from 100.00 paid outside Stripe afterwards is theirs, not the
    discount's to take back."""
    practice = create_practice(world, connect=False)
    client = create_client(world, practice)
    status, discount = grant(
        world, practice, client["id"], {"amount": 5_000, "reason": "discount"}, key="credit-discount-1"
    )
    assert status == 201, discount
    completed_session(world, practice, client["id"])  # 120.00: the discount pays 50.00 of it
    world.clock.now += timedelta(minutes=1)
    status, outside = grant(
        world,
        practice,
        client["id"],
        {"amount": 10_000, "reason": "paid_outside_stripe"},
        key="credit-outside-2",
    )
    assert status == 201, outside
    own = client["id"]
    assert accounts(world, practice, own)[0] == {None: (0, 3_000)}  # 70.00 owed paid, 30.00 left
    world.clock.now += timedelta(minutes=1)
    status, refused = take_back(world, practice, own, discount["id"])
    assert status == 409 and refused["details"]["unused"] == 0, refused
    status, back = take_back(world, practice, own, outside["id"], key="take-back-0002")
    assert status == 201 and back["taken_back"]["amount"] == 3_000, back
    assert accounts(world, practice, own)[0] == {None: (0, 0)}
