"""Purchase links and the public store page through the real handlers: a clinician's link after
a session, the page (recommended items first), an order paid with the saved card or a new card,
an item sold out meanwhile, an expired or changed link, and another client's order."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from typing import Any

from tests.integration.conftest import World
from tests.integration.scenario import Practice, completed_session, create_client, create_practice, save_card
from tests.integration.test_shop_stock import product


def send_link(
    world: World, practice: Practice, client_id: str, items: list[tuple[str, int]], **extra: Any
) -> str:
    body = {"client_id": client_id, "items": [{"product_id": p, "quantity": q} for p, q in items], **extra}
    status, link = world.staff(
        "POST", "/shop/purchase-links", body, practice_id=practice.id, role="clinician"
    )
    assert status == 201, link
    return str(link["url"]).split("/store/")[1]


def order(
    world: World, token: str, items: list[tuple[str, int]], method: str, request_id: str
) -> tuple[int, Any]:
    body = {
        "items": [{"product_id": p, "quantity": q} for p, q in items],
        "method": method,
        "request_id": request_id,
    }
    return world.public("POST", f"/store/{token}/orders", body)


def test_a_link_after_a_session_and_the_page_paid_with_a_new_card(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    session = completed_session(world, practice, client["id"])
    putty = product(world, practice, stock=5)
    splint = product(world, practice, stock=2, name="Wrist splint", sku="SPLINT-W", price=4000)
    aid = product(world, practice, stock=1, name="Angled pen grip", sku="GRIP-1", price=600)
    token = send_link(world, practice, client["id"], [(splint["id"], 1)], session_id=session["id"])
    (mail,) = [m for m in world.emails() if "Items recommended for you" in m.raw_data]
    msg = email.message_from_string(mail.raw_data)
    assert msg["To"].endswith("ann@client.test") and "Wrist splint" not in msg["Subject"]

    status, page = world.public("GET", f"/store/{token}")
    assert status == 200 and 'name="viewport"' in page
    names = [n.strip() for n in re.findall(r"<h3 id=\"name-[^\"]+\">([^<]+)", page)]
    assert names == ["Wrist splint", "Angled pen grip", "Therapy putty, medium"]  # recommended first
    quantities = dict(re.findall(r'id="qty-([^"]+)"[^>]*?value="(\d+)"', page))
    assert quantities == {splint["id"]: "1", aid["id"]: "0", putty["id"]: "0"}  # the recommended one
    assert "Saved" not in page

    status, placed = order(world, token, [(putty["id"], 2), (splint["id"], 1)], "new_card", "req-00000001")
    assert status == 200 and placed["status"] == "reserved" and placed["total"] == 6500, placed
    world.stripe.pay_on_page(practice.account, placed["client_secret"])
    status, done = world.public("POST", f"/store/{token}/orders/{placed['order_id']}/confirm", {})
    assert (status, done["status"]) == (200, "paid"), done
    status, again = order(world, token, [(putty["id"], 2), (splint["id"], 1)], "new_card", "req-00000001")
    assert (again["order_id"], again["status"], again["client_secret"]) == (placed["order_id"], "paid", None)
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (3, 3)
    _, untouched = world.staff("GET", f"/shop/products/{aid['id']}", practice_id=practice.id)
    assert (untouched["on_hand"], untouched["available"]) == (1, 1)  # not bought: nothing held


def test_a_saved_card_a_sold_out_item_and_links_that_do_not_work(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["product"])
    splint = product(world, practice, stock=1, name="Wrist splint", sku="SPLINT-W", price=4000)
    token = send_link(world, practice, client["id"], [(splint["id"], 1)])
    status, page = world.public("GET", f"/store/{token}")
    assert status == 200 and "Saved Visa ending in 4242" in page

    status, body = order(world, token, [(splint["id"], 2)], "saved_card", "req-00000002")
    assert status == 409 and body["message"] == "only 1 left of an item chosen; 2 asked for", body
    assert body["details"] == {"product_id": splint["id"], "available": 1, "wanted": 2}
    status, body = order(world, token, [(splint["id"], 1)], "saved_card", "req-00000003")
    assert (status, body["status"], body["payment_status"]) == (200, "paid", "succeeded"), body
    paid_id = body["order_id"]
    status, body = order(world, token, [(splint["id"], 1)], "saved_card", "req-00000004")
    assert status == 409 and body["message"].startswith("only 0 left"), body

    other = create_client(world, practice, email="other@client.test")
    other_token = send_link(world, practice, other["id"], [(splint["id"], 1)])
    status, body = world.public("POST", f"/store/{other_token}/orders/{paid_id}/confirm", {})
    assert status == 404, body  # another client's order, whatever its id
    changed = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    status, page = world.public("GET", f"/store/{changed}")
    assert status == 401 and "This link does not work" in page
    world.clock.now += timedelta(days=15)
    status, page = world.public("GET", f"/store/{token}")
    assert status == 401 and "has expired" in page and "Harbor Family Practice" in page


def test_a_link_to_a_billing_contact_sends_them_the_receipt(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice, email="child@client.test")
    status, contact = world.staff(
        "POST",
        f"/clients/{client['id']}/contacts",
        {"name": "Pat Parent", "email": "pat@parent.test", "relationship": "parent"},
        practice_id=practice.id,
    )
    assert status == 201, contact
    putty = product(world, practice, stock=2)
    token = send_link(world, practice, client["id"], [(putty["id"], 1)], contact_id=contact["id"])
    status, page = world.public("GET", f"/store/{token}")
    assert status == 200 and "For Pat Parent." in page
    status, placed = order(world, token, [(putty["id"], 1)], "new_card", "req-00000005")
    world.stripe.pay_on_page(practice.account, placed["client_secret"])
    status, done = world.public("POST", f"/store/{token}/orders/{placed['order_id']}/confirm", {})
    assert done["status"] == "paid", done
    sent = [email.message_from_string(m.raw_data) for m in world.emails()]
    receipts = [m["To"] for m in sent if str(m["Subject"]).startswith("Your receipt")]
    assert len(receipts) == 1 and receipts[0].endswith("pat@parent.test")
    assert not any("child@client.test" in str(m["To"]) for m in sent)


def test_the_same_request_id_with_other_items_or_another_way_to_pay_is_refused(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    save_card(world, practice, client["id"], kinds=["product"])
    putty = product(world, practice, stock=5)
    splint = product(world, practice, stock=1, name="Wrist splint", sku="SPLINT-W", price=4000)
    token = send_link(world, practice, client["id"], [(splint["id"], 1)])
    status, first = order(world, token, [(putty["id"], 3)], "new_card", "req-00000011")
    assert (status, first["status"], first["total"]) == (200, "reserved", 3750), first

    status, body = order(world, token, [(splint["id"], 1)], "new_card", "req-00000011")
    assert status == 409 and body["message"].startswith("this request was already used for other items")
    assert body["details"] == {"order_id": first["order_id"]} and "client_secret" not in str(body)
    status, body = order(world, token, [(putty["id"], 3)], "saved_card", "req-00000011")
    assert status == 409 and body["message"].startswith("this request was already used to pay another way")
    _, splint_now = world.staff("GET", f"/shop/products/{splint['id']}", practice_id=practice.id)
    _, putty_now = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (splint_now["available"], putty_now["available"]) == (1, 2)  # only the first order holds

    status, again = order(world, token, [(putty["id"], 3)], "new_card", "req-00000011")
    assert (status, again["order_id"], again["client_secret"]) == (
        200,
        first["order_id"],
        first["client_secret"],
    )
    status, other = order(world, token, [(splint["id"], 1)], "saved_card", "req-00000012")
    assert (status, other["status"], other["total"]) == (200, "paid", 4000), other


def test_a_success_reported_again_after_a_full_return_tells_no_one_anything(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    putty = product(world, practice, stock=5)
    token = send_link(world, practice, client["id"], [(putty["id"], 1)])
    _, placed = order(world, token, [(putty["id"], 1)], "new_card", "req-00000021")
    world.stripe.pay_on_page(practice.account, placed["client_secret"])
    confirm = f"/store/{token}/orders/{placed['order_id']}/confirm"
    assert world.public("POST", confirm, {})[1]["status"] == "paid"
    status, back = world.staff(
        "POST",
        f"/shop/orders/{placed['order_id']}/returns",
        {},
        practice_id=practice.id,
        headers={"Idempotency-Key": "ret-00021"},
    )
    assert (status, back["status"], back["refunded_amount"]) == (201, "refunded", 1250), back
    before = len(world.emails())
    status, again = world.public("POST", confirm, {})
    assert (status, again["status"]) == (200, "refunded"), again
    assert len(world.emails()) == before  # no "paid after its reservation ended" to the practice
    _, stock = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    assert (stock["on_hand"], stock["available"]) == (5, 5)


def test_an_order_that_cannot_be_paid_holds_nothing(world: World) -> None:
    practice = create_practice(world)
    client = create_client(world, practice)
    putty = product(world, practice, stock=2)
    sample = product(world, practice, stock=3, name="Sample", sku="FREE-1", price=0)
    token = send_link(world, practice, client["id"], [(putty["id"], 1)])
    status, body = order(world, token, [(putty["id"], 2)], "saved_card", "req-00000031")
    assert (status, body["message"], body["details"]) == (
        400,
        "there is no saved card to pay with",
        {"field": "method"},
    ), body
    save_card(world, practice, client["id"], kinds=["copay"])  # its consent does not cover products
    status, body = order(world, token, [(putty["id"], 2)], "saved_card", "req-00000032")
    assert status == 400 and "product" in body["message"], body
    status, body = order(world, token, [(sample["id"], 1)], "new_card", "req-00000033")
    assert status == 400 and body["message"].startswith("an order of only free items"), body
    _, putties = world.staff("GET", f"/shop/products/{putty['id']}", practice_id=practice.id)
    _, samples = world.staff("GET", f"/shop/products/{sample['id']}", practice_id=practice.id)
    assert (putties["available"], samples["available"]) == (2, 3)
    _, orders = world.staff("GET", "/shop/orders", practice_id=practice.id)
    assert orders == []
    status, placed = order(world, token, [(putty["id"], 2)], "new_card", "req-00000034")
    assert (status, placed["status"], placed["total"]) == (200, "reserved", 2500), placed
