"""What a client's browser shows when a public page cannot be used: HTML (never JSON or validation
text) that says what happened and what to do next, naming the practice (its name and email) when
the link is one we signed, even an expired one, and no one when the link was changed or cut short.
A booking already paid and a payment already made are not errors. The pages' JSON calls keep their
JSON errors. The authentication page says who charges, for what, when and on which card."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.integration.conftest import World
from tests.integration.scenario import charge, create_client, create_practice, save_card, setup_link
from tests.integration.test_booking_payments import (
    DEPOSIT_FLAT,
    book,
    reconcile,
    rule,
    secret_from_page,
    service,
)

PRACTICE = "Harbor Family Practice"
EMAIL = "office@harbor.test"


def text_of(page: str) -> str:
    """The words a reader sees: no style, script or tags."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).strip()


def assert_reads_well(page: Any, *, practice: bool) -> str:
    """An HTML page of words: a heading, a full sentence, what to do next; the practice named (with
    a mailto link) or, for a link that cannot be trusted, no one."""
    assert isinstance(page, str) and page.startswith("<!doctype html>"), page
    words = text_of(page)
    for leak in ("{", "}", '"code"', "invalid_request", "unauthorized", "field", "pattern", "string"):
        assert leak not in words, (leak, words)
    assert re.search(r"<h1>[A-Z][^<]+</h1>", page) and 'id="next-step"' in page
    if practice:
        assert PRACTICE in words and f'href="mailto:{EMAIL}"' in page, words
    else:
        assert PRACTICE not in words and EMAIL not in words, words
    return words


def test_a_set_up_link_cut_short_changed_expired_or_used(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    token = setup_link(world, practice, client["id"])
    body, mac = token.split(".")

    status, page = world.public("GET", "/setup/not-a-token")
    assert status == 400
    assert "This link does not work" in assert_reads_well(page, practice=False)

    status, page = world.public("GET", f"/setup/{body}.{mac[:-3]}xyz")
    assert status == 401
    words = assert_reads_well(page, practice=False)
    assert "cannot tell which practice sent it" in words and "ask the practice for a new link" in words

    save_card(world, practice, client["id"], token=token)
    status, page = world.public("GET", f"/setup/{token}")
    assert status == 409
    words = assert_reads_well(page, practice=True)
    assert "Your card is already saved" in words and "nothing more to do" in words

    world.clock.now += timedelta(hours=73)
    status, page = world.public("GET", f"/setup/{setup_link(world, practice, client['id'])}")
    assert status == 200  # a new link works
    old = setup_link(world, practice, client["id"])
    world.clock.now += timedelta(hours=73)
    status, page = world.public("GET", f"/setup/{old}")
    assert status == 401
    words = assert_reads_well(page, practice=True)
    assert f"This link to save your card from {PRACTICE} has expired." in words
    assert f"Ask {PRACTICE} for a new link: {EMAIL}" in words


def test_the_set_up_pages_json_call_keeps_json_errors(world: World) -> None:
    status, body = world.public(
        "POST", "/setup/not-a-token/intent", {"signer_name": "Ann", "agreed": True, "text_version": "x"}
    )
    assert status in (400, 422) and isinstance(body, dict) and body["code"]


def _authentication_link(world: World, practice: Any, client: dict[str, Any], *, kind: str = "copay") -> str:
    save_card(world, practice, client["id"], pm="pm_card_authenticationRequired")
    status, payment = charge(world, practice, client["id"], 4000, kind=kind, memo="90837 F41.1 progress note")
    assert status == 201 and payment["status"] == "requires_action", payment
    link = world.container.payments.auth_link(practice.id, payment["id"])
    return link.split("/pay/authenticate/")[1]


def test_the_authentication_page_says_who_for_what_when_and_which_card(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    token = _authentication_link(world, practice, client, kind="cancellation_fee")

    status, page = world.public("GET", f"/pay/authenticate/{token}")
    assert status == 200, page
    words = text_of(page)
    day = world.clock().astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert f"To {PRACTICE}" in words
    assert "For A cancellation or missed-appointment fee" in words
    assert f"Date {day:%A} {day.day} {day:%B %Y}" in words
    status, cards = world.staff("GET", f"/clients/{client['id']}/cards", practice_id=practice.id)
    assert status == 200 and len(cards) == 1, cards
    assert "Amount USD 40.00" in words and f"Card Visa ending in {cards[0]['last4']}" in words
    # Never the memo, a code or a diagnosis.
    for secret in ("90837", "F41.1", "progress note"):
        assert secret not in page


def test_the_authentication_link_of_a_payment_already_made_or_expired(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    token = _authentication_link(world, practice, client)
    page = world.public("GET", f"/pay/authenticate/{token}")[1]
    found = re.search(r'"secret": "([^"]+)"', page), re.search(r'"pm": "([^"]+)"', page)
    assert found[0] is not None and found[1] is not None
    since = len(world.stripe.events)
    world.stripe.pay_on_page(practice.account, found[0].group(1), payment_method=found[1].group(1))
    world.deliver_stripe_events(since=since)

    status, page = world.public("GET", f"/pay/authenticate/{token}")
    assert status == 200  # not an error: nothing more to do
    words = assert_reads_well(page, practice=True)
    assert "This payment is already made" in words and "receipt" in words

    world.clock.now += timedelta(days=8)
    status, page = world.public("GET", f"/pay/authenticate/{token}")
    assert status == 401
    assert "has expired" in assert_reads_well(page, practice=True)


def test_a_paid_booking_says_it_is_confirmed_even_once_its_link_expired(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    svc = service(world, practice)
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    since = len(world.stripe.events)
    link = book(world, practice, client, svc)["booking_payment"]["pay_link"]
    world.stripe.pay_on_page(practice.account, secret_from_page(world, link))
    world.deliver_stripe_events(since=since)
    token = link.split("/pay/booking/")[1]
    world.clock.now += timedelta(days=2)

    status, page = world.public("GET", f"/pay/booking/{token}")
    assert status == 200
    words = assert_reads_well(page, practice=True)
    assert "Your appointment is confirmed" in words and "has been received" in words
    assert "2031" in words  # the appointment's date


def test_a_released_booking_and_an_expired_hold_say_to_book_again(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    svc = service(world, practice)
    rule(world, practice, svc, rule=DEPOSIT_FLAT)
    token = book(world, practice, client, svc)["booking_payment"]["pay_link"].split("/pay/booking/")[1]

    world.clock.now += timedelta(minutes=31)  # the hold is over; not released yet
    status, page = world.public("GET", f"/pay/booking/{token}")
    assert status == 401
    words = assert_reads_well(page, practice=True)
    assert "The time to pay for your appointment" in words and f"To book again, contact {PRACTICE}" in words

    reconcile(world)
    status, page = world.public("GET", f"/pay/booking/{token}")
    assert status == 401  # expired and released: the link is over either way
    assert f"To book again, contact {PRACTICE}" in assert_reads_well(page, practice=True)
    # The status the page polls stays JSON.
    status, body = world.public("GET", f"/pay/booking/{token}/status")
    assert status == 401 and body["code"] == "unauthorized"
    status, body = world.public("GET", "/pay/booking/not-a-token/status")
    assert status == 400 and body["code"] == "invalid_request"


def test_the_invoice_pay_page_of_no_practice_or_a_mistyped_address(world: World) -> None:
    status, page = world.public("GET", "/pay/invoice/prc_doesnotexist00")
    assert status == 404
    assert "We could not find this pay page" in assert_reads_well(page, practice=False)
    status, page = world.public("GET", "/pay/invoice/NOT-AN-ID")
    assert status == 400
    assert "printed on your invoice" in assert_reads_well(page, practice=False)
    status, body = world.public("POST", "/pay/invoice/NOT-AN-ID/lookup", {"number": "INV-000001"})
    assert status in (400, 422) and isinstance(body, dict)


def test_a_failing_database_reads_as_a_page_too(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    token = setup_link(world, practice, client["id"])

    world.dynamo.fail("get_item", code="ProvisionedThroughputExceededException", times=10)
    status, page = world.public("GET", f"/setup/{token}")
    assert status == 503
    assert "Please try again in a minute" in assert_reads_well(page, practice=False)

    world.dynamo.plan.clear()
    world.dynamo.fail("get_item", code="ValidationException", times=1)
    status, page = world.public("GET", f"/setup/{token}")
    assert status == 500
    assert "Something went wrong" in assert_reads_well(page, practice=False)
    # A JSON call answers its JSON error body as before.
    world.dynamo.fail("get_item", code="ValidationException", times=1)
    status, body = world.public(
        "POST", f"/setup/{token}/intent", {"signer_name": "Ann", "agreed": True, "text_version": "x"}
    )
    assert status == 500 and body["code"] == "internal"


def test_the_invoice_pay_page_reads_as_a_page_when_the_database_is_busy(world: World) -> None:
    practice = create_practice(world)
    world.dynamo.fail("get_item", code="ProvisionedThroughputExceededException", times=10)
    status, page = world.public("GET", f"/pay/invoice/{practice.id}")
    assert status == 503
    assert "Please try again in a minute" in assert_reads_well(page, practice=False)
