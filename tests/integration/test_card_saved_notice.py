"""The practice hears of a saved card once: an email to its address with the card's brand and last
four and what the consent covers — nothing of the client's insurance or care."""

from __future__ import annotations

import json

from tests.integration.scenario import create_client, create_practice, save_card
from tests.integration.test_nightly_support import mails


def notices(world):
    return [(to, subject, text) for to, subject, text in mails(world) if subject.startswith("Card saved")]


def test_the_practice_is_told_once_with_the_card_and_the_scope(world):
    practice = create_practice(world)
    client = create_client(world, practice, copay_amount=2_500)  # insured: Aetna, member W123456789
    save_card(world, practice, client["id"], kinds=["copay", "session_fee"], max_amount=20_000)
    ((to, subject, text),) = notices(world)
    assert to == "office@harbor.test" and subject == "Card saved: Visa ending in 4242"
    assert "Ann Client saved a card on file with Harbor Family Practice: Visa ending in 4242" in text
    assert "It may be charged for: copays, session fees." in text
    assert "Most per charge: USD 200.00." in text and "Consent expires: no expiry." in text
    for health in ("Aetna", "W123456789", "60054", "90837", "copay of"):
        assert health not in text, health
    # Stripe delivers the event again: the card is stored once and told once.
    (event,) = world.stripe.events_of_type("setup_intent.succeeded")
    assert world.webhook(json.dumps({**event, "id": "evt_redelivered_0001"}))[0] == 200
    world.drain_queue()
    assert len(notices(world)) == 1


def test_a_billing_contacts_card_names_the_contact_and_a_failed_email_is_sent_on_redelivery(world):
    practice = create_practice(world)
    client = create_client(world, practice)
    _, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat Parent", "email": "pat@parent.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    world.mail.fail_next()  # SES unreachable when the worker first applies the event
    card = save_card(world, practice, client["id"], pm="pm_card_mastercard", contact_id=contact["id"])
    assert card["owner_id"] == contact["id"] and notices(world) == []  # the card stands
    world.drain_queue()  # SQS redelivers the failed event: the card is there, the email goes now
    ((_, subject, text),) = notices(world)
    assert subject == "Card saved: Mastercard ending in 4444"
    assert text.startswith("Pat Parent (billing contact of Ann Client) saved a card")
    assert "copays, session fees, cancellation and no-show fees, balances." in text
