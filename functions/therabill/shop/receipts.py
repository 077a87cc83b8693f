"""An order's itemised receipt (email, with the PDF attached) and the practice's low-stock notice.
The receipt goes to the billing party only: product names may say something about a condition.
It is HSA/FSA ready: the practice, the date, each item with its quantity and price, the eligible
items marked, the totals, and the card (brand and last four)."""

from __future__ import annotations

from html import escape

from therabill.core.clock import day_text, local_date
from therabill.core.money import Money
from therabill.notifications.html import html_page
from therabill.notifications.mailer import Attachment, Email
from therabill.practices.models import Practice
from therabill.shop.models import Order, Product
from therabill.shop.pdf import render
from therabill.shop.wording import ELIGIBLE_MARK, card_text, line_text, totals


def receipt_email(*, practice: Practice, party_name: str, to: str, order: Order) -> Email:
    assert order.paid_at is not None
    day = day_text(local_date(order.paid_at, practice.time_zone))
    paragraphs: list[list[str]] = [
        [f"Dear {party_name},"],
        [f"Thank you for your order {order.id} from {practice.name}, paid on {day}."],
        ["Items:", *(f"- {line_text(order, line)}" for line in order.lines)],
        totals(order),
        [card_text(order)],
        [f"Items marked {ELIGIBLE_MARK} are eligible for a health savings or flexible spending account."],
        ["The receipt is attached as a PDF."],
    ]
    closing = [[f"Questions? Write to {practice.email}."], practice.contact_lines()]
    every = [*paragraphs, *closing]
    return Email(
        to=to,
        subject=f"Your receipt from {practice.name}: order {order.id}",
        text="\n\n".join("\n".join(p) for p in every),
        html=html_page(
            f"Receipt for order {order.id}",
            ["<br>".join(escape(x) for x in p) for p in paragraphs],
            after=["<br>".join(escape(x) for x in p) for p in closing],
        ),
        reply_to=practice.email,
        sender_name=practice.name,
        attachments=[
            Attachment(
                filename=f"receipt-{order.id}.pdf",
                content_type="application/pdf",
                data=render(practice, party_name, order, day),
            )
        ],
    )


def low_stock_email(*, practice: Practice, product: Product) -> Email:
    """To the practice: a product is running low (its name is the practice's own catalogue)."""
    text = (
        f"{product.name} (SKU {product.sku}) is running low: {product.available} available to sell,"
        f" {product.on_hand} on hand. Record new stock when it arrives."
    )
    return Email(
        to=practice.email,
        subject=f"Low stock: {product.sku}",
        text=text,
        html=html_page(f"Low stock: {product.sku}", [escape(text)]),
        sender_name="Therabill",
    )


def late_payment_email(*, practice: Practice, order: Order, payment_id: str) -> Email:
    """To the practice: an order was paid after its hold ended and its units were sold."""
    text = (
        f"Order {order.id} was paid ({order.amount.format()}, payment {payment_id}) after its"
        " reservation had ended, and its items have been sold since. The amount is held as the"
        " client's credit: refund it, or fulfil the order when stock arrives."
    )
    return Email(
        to=practice.email,
        subject=f"Order {order.id} paid after its reservation ended",
        text=text,
        html=html_page(f"Order {order.id} paid late", [escape(text)]),
        sender_name="Therabill",
    )


def refund_failed_email(*, practice: Practice, order: Order, amount: int, units: int) -> Email:
    """To the practice: a return's card refund failed after the return was made (ids, amounts and
    counts only: what was bought is the client's)."""
    back = Money(amount=amount, currency=order.currency).format()
    stock = f" The {units} units it had put back in stock were taken out again." if units else ""
    text = (
        f"The card refund of {back} for a return of order {order.id} failed, so the client has not"
        " been paid back. The return no longer counts: the order's items are sold again and"
        f" nothing of it is refunded.{stock} Refund the client another way, or record the return"
        " again to try the card once more."
    )
    return Email(
        to=practice.email,
        subject=f"Refund failed for order {order.id}",
        text=text,
        html=html_page(f"Refund failed for order {order.id}", [escape(text)]),
        sender_name="Therabill",
    )
