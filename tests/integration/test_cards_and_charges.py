import email
import email.policy
import json
from datetime import timedelta

from tests.integration.scenario import charge, create_client, create_practice, save_card, setup_link
from therabill.core import keys


def _receipts(world, to):
    out = []
    for m in world.emails():
        msg = email.message_from_string(m.raw_data) if hasattr(m, "raw_data") else None
        if msg is not None and to in msg["To"] and msg["Subject"].startswith("Receipt"):
            out.append(msg)
    return out


def _ledger(world, practice, client_id):
    status, body = world.staff("GET", f"/clients/{client_id}/ledger", practice_id=practice.id)
    assert status == 200
    return body


def test_saving_a_card_stores_details_and_consent_never_the_number(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    card = save_card(world, practice, client["id"])
    assert card["brand"] == "visa" and len(card["last4"]) == 4 and card["is_default"]
    status, evidence = world.staff(
        "GET", f"/clients/{client['id']}/cards/{card['id']}/consent", practice_id=practice.id
    )
    assert status == 200
    consent = evidence["consent"]
    assert consent["status"] == "active"
    assert consent["signer_name"] == "Ann Client" and consent["ip_address"] == "198.51.100.7"
    assert "Harbor Family Practice" in consent["text"] and consent["text_version"]
    assert set(consent["scope"]["kinds"]) == {"copay", "session_fee", "cancellation_fee", "balance"}
    # The stored card item has no card number, only what Stripe's PaymentMethod exposes.
    item = world.container.table.get(keys.practice_pk(practice.id), keys.card_sk(client["id"], card["id"]))
    assert item["fingerprint"] and "number" not in json.dumps(item)


def test_a_used_link_cannot_save_a_second_card(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    token = setup_link(world, practice, client["id"])
    save_card(world, practice, client["id"], token=token)
    status, page = world.public("GET", f"/setup/{token}")
    assert status == 409 and "already been saved" in page


def test_an_expired_or_forged_link_is_refused(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    token = setup_link(world, practice, client["id"])
    world.clock.now += timedelta(hours=73)
    assert world.public("GET", f"/setup/{token}")[0] == 401
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert world.public("GET", f"/setup/{forged}")[0] == 401


def test_consent_must_be_accepted_before_a_setup_intent_exists(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    token = setup_link(world, practice, client["id"])
    before = len(world.stripe.requests)
    status, body = world.public(
        "POST",
        f"/setup/{token}/intent",
        {"signer_name": "Ann", "agreed": False, "text_version": "2026-11-01"},
    )
    assert status == 400 and body["details"]["field"] == "agreed"
    status, body = world.public(
        "POST", f"/setup/{token}/intent", {"signer_name": "Ann", "agreed": True, "text_version": "1999-01-01"}
    )
    assert status == 409
    assert len(world.stripe.requests) == before


def test_cards_are_listed_defaulted_and_removed(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    first = save_card(world, practice, client["id"])
    second = save_card(world, practice, client["id"], pm="pm_card_mastercard")
    _, cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)
    assert {c["id"]: c["is_default"] for c in cards} == {first["id"]: True, second["id"]: False}
    status, _ = world.staff(
        "POST", f"/clients/{client['id']}/cards/{second['id']}/default", practice_id=practice.id
    )
    assert status == 200
    status, _ = world.staff(
        "DELETE", f"/clients/{client['id']}/cards/{second['id']}", practice_id=practice.id
    )
    assert status == 204
    _, cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)
    assert [c["id"] for c in cards] == [first["id"]]
    _, evidence = world.staff(
        "GET", f"/clients/{client['id']}/cards/{second['id']}/consent", practice_id=practice.id
    )
    assert evidence["consent"]["status"] == "revoked"
    assert (
        world.staff("DELETE", f"/clients/{client['id']}/cards/{second['id']}", practice_id=practice.id)[0]
        == 404
    )


def test_a_charge_posts_to_the_ledger_and_emails_one_receipt(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    since = len(world.stripe.events)
    status, payment = charge(world, practice, client["id"], 2500)
    assert status == 201 and payment["status"] == "succeeded"
    world.deliver_stripe_events(since=since)  # payment_intent.succeeded arrives too
    ledger = _ledger(world, practice, client["id"])
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("payment", 2500)]
    assert ledger["balance"] == -2500
    receipts = _receipts(world, "ann@client.test")
    assert len(receipts) == 1 and "USD 25.00" in receipts[0]["Subject"]


def test_the_charge_request_to_stripe_is_idempotent_and_phi_free(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    status, first = charge(world, practice, client["id"], 4000, memo="45 min psychotherapy 90834")
    status_again, again = charge(world, practice, client["id"], 4000, memo="45 min psychotherapy 90834")
    assert (status, status_again) == (201, 201) and first["id"] == again["id"]
    creates = [r for r in world.stripe.requests if r.method == "POST" and r.path == "/v1/payment_intents"]
    assert len(creates) == 1
    request = creates[0]
    assert request.idempotency_key == f"therabill:charge:{first['id']}"
    assert request.stripe_account == practice.account
    sent = json.dumps(request.params)
    assert "90834" not in sent and "psychotherapy" not in sent.lower()


def test_reusing_an_idempotency_key_for_another_charge_is_a_conflict(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    charge(world, practice, client["id"], 1000, key="same-key-123")
    status, _ = charge(world, practice, client["id"], 9999, key="same-key-123")
    assert status == 409


def test_charges_outside_the_consent_are_refused_and_write_nothing(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["copay"], max_amount=5000)
    before = len(world.stripe.requests)
    status, body = charge(world, practice, client["id"], 100, kind="product", key="k-product-1")
    assert status == 400 and "does not cover" in body["message"]
    status, body = charge(world, practice, client["id"], 5001, key="k-too-big-1")
    assert status == 400 and "limit" in body["message"]
    assert len(world.stripe.requests) == before
    assert _ledger(world, practice, client["id"])["entries"] == []


def test_a_decline_is_recorded_with_its_code_and_posts_nothing(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], pm="pm_card_chargeCustomerFail")
    since = len(world.stripe.events)
    status, payment = charge(world, practice, client["id"], 2500)
    assert status == 201 and payment["status"] == "declined"
    assert (payment["error_code"], payment["decline_code"]) == ("card_declined", "generic_decline")
    world.deliver_stripe_events(since=since)
    assert _ledger(world, practice, client["id"])["entries"] == []
    assert _receipts(world, "ann@client.test") == []


def test_authentication_required_emails_a_link_to_that_payment(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], pm="pm_card_authenticationRequired")
    since = len(world.stripe.events)
    status, payment = charge(world, practice, client["id"], 3000)
    assert status == 201 and payment["status"] == "requires_action"
    world.deliver_stripe_events(since=since)  # payment_intent.payment_failed: no second email
    mails = [email.message_from_string(m.raw_data, policy=email.policy.default) for m in world.emails()]
    auth = [m for m in mails if m["Subject"].startswith("Please confirm")]
    assert len(auth) == 1
    text = auth[0].get_body(("plain",)).get_content()
    link = next(line for line in text.splitlines() if "/pay/authenticate/" in line)
    status, page = world.public("GET", "/pay/authenticate/" + link.split("/pay/authenticate/")[1])
    assert status == 200 and "USD 30.00" in page and "confirmCardPayment" in page


def test_a_stripe_outage_leaves_the_charge_pending_and_the_reconciler_finishes_it(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    world.stripe.fail_next(1, kind="5xx")
    status, payment = charge(world, practice, client["id"], 1500)
    assert status == 202 and payment["status"] == "pending"
    world.clock.now += timedelta(minutes=5)
    from devstack.apigw import LambdaContext, scheduled_event

    from therabill.entrypoints import payments_reconciler

    counts = payments_reconciler.lambda_handler(
        scheduled_event("payments-reconciler"), LambdaContext("payments-reconciler")
    )
    assert counts["retried"] == 1
    status, body = world.staff(
        "GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id
    )
    assert body["status"] == "succeeded"
    assert [e["amount"] for e in _ledger(world, practice, client["id"])["entries"]] == [1500]
    succeeded = [
        r
        for r in world.stripe.requests
        if r.path == "/v1/payment_intents" and r.method == "POST" and r.status == 200
    ]
    assert len(succeeded) == 1


def test_a_pending_charge_whose_card_was_removed_is_not_retried(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    card = save_card(world, practice, client["id"])
    world.stripe.fail_next(1, kind="timeout")
    status, payment = charge(world, practice, client["id"], 1500)
    assert status == 202
    world.staff("DELETE", f"/clients/{client['id']}/cards/{card['id']}", practice_id=practice.id)
    world.clock.now += timedelta(minutes=5)
    before = len(world.stripe.requests_to("/v1/payment_intents", "POST"))
    world.container.payments.reconcile_pending()
    _, body = world.staff("GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id)
    assert (body["status"], body["error_code"]) == ("failed", "card_removed")
    assert len(world.stripe.requests_to("/v1/payment_intents", "POST")) == before


def test_a_pending_charge_past_stripes_key_memory_is_failed_not_replayed(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"])
    world.stripe.fail_next(1, kind="5xx")
    _, payment = charge(world, practice, client["id"], 1500)
    world.clock.now += timedelta(hours=24)
    before = len(world.stripe.requests_to("/v1/payment_intents", "POST"))
    assert world.container.payments.reconcile_pending()["expired"] == 1
    _, body = world.staff("GET", f"/clients/{client['id']}/payments/{payment['id']}", practice_id=practice.id)
    assert body["status"] == "failed"
    assert len(world.stripe.requests_to("/v1/payment_intents", "POST")) == before


def test_a_billing_contact_has_their_own_card_and_receipt(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    _, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat Parent", "email": "pat@parent.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    own = save_card(world, practice, client["id"])
    theirs = save_card(world, practice, client["id"], pm="pm_card_mastercard", contact_id=contact["id"])
    assert (own["owner_id"], theirs["owner_id"]) == (client["id"], contact["id"])
    assert own["is_default"] and theirs["is_default"]  # each billing party has their own default
    status, payment = charge(world, practice, client["id"], 3300, contact_id=contact["id"])
    assert status == 201 and payment["card_id"] == theirs["id"] and payment["owner_id"] == contact["id"]
    assert len(_receipts(world, "pat@parent.test")) == 1
    assert _receipts(world, "ann@client.test") == []
    # The contact's Stripe customer is not the client's.
    customers = {r.params.get("email") for r in world.stripe.requests_to("/v1/customers", "POST")}
    assert {"ann@client.test", "pat@parent.test"} <= customers
