"""A knob on FakeStripe's saved cards, without changing fake_stripe.py: make a PaymentMethod
already attached to a customer decline its next charges with a given code (or approve again).

Stripe's test cards decide once, by number, how a card behaves; a real card on file can be
declined today for insufficient funds and approved tomorrow. This swaps the behaviour the fake
keeps for one PaymentMethod (its private ``_private[pm_id]["card"]``)."""

from __future__ import annotations

import dataclasses

from tests.fakes.fake_stripe import FakeStripe, TestCard

INSUFFICIENT_FUNDS = ("card_declined", "insufficient_funds", "Your card has insufficient funds.")
GENERIC_DECLINE = ("card_declined", "generic_decline", "Your card was declined.")
LOST_CARD = ("card_declined", "lost_card", "Your card was declined.")
PROCESSING_ERROR = (
    "processing_error",
    "processing_error",
    "An error occurred while processing your card. Try again in a little bit.",
)


def set_charge_decline(
    fake: FakeStripe, payment_method_id: str, decline: tuple[str, str, str] | None
) -> None:
    """From now on, charges on ``payment_method_id`` are declined with ``decline`` (code,
    decline_code, message), or approved when ``decline`` is None."""
    private = fake._private[payment_method_id]
    card: TestCard = private["card"]
    private["card"] = dataclasses.replace(card, decline=decline, declines_on_attach=False)
