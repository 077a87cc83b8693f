"""The one email sign-up sends itself: "you already have an account" (the invitation of a new
owner is the identity provider's, worded by the invitation trigger)."""

from __future__ import annotations

from html import escape

from therabill.notifications.html import html_page
from therabill.notifications.mailer import Email


def already_registered(to: str, *, sign_in_url: str) -> Email:
    """To an address that signed up again: how to sign in, or reset the password. Names no
    practice (the message goes to whoever typed the address)."""
    lines = [
        "Someone (probably you) asked to sign up a practice for Therabill with this email "
        "address, but it already belongs to a Therabill account, so nothing new was created.",
        f"Sign in at {sign_in_url} with this address.",
        "Forgot your password? Choose “Forgot password” on the sign-in page and we will email "
        "you a code to set a new one. If your invitation's temporary password has expired, ask an "
        "owner of your practice to invite you again.",
        "If you did not ask for this, you can ignore this email: your account is unchanged.",
    ]
    return Email(
        to=to,
        subject="You already have a Therabill account",
        text="\n\n".join(lines),
        html=html_page(
            "You already have a Therabill account",
            [escape(line) for line in lines[:1]],
            link=("Sign in", sign_in_url),
            after=[escape(line) for line in lines[2:]],
        ),
        sender_name="Therabill",
    )


def registered_elsewhere(to: str, *, practice_name: str, sign_in_url: str) -> Email:
    """To an address a practice invited that has a Therabill sign-in already (each sign-in belongs
    to one practice). Only the address hears of it: the practice sees an invitation not yet
    accepted."""
    lines = [
        f"{practice_name} invited this email address to join their practice on Therabill, but the "
        "address already has a Therabill sign-in, and a sign-in belongs to one practice, so no "
        "second one was made.",
        f"To work with {practice_name}, ask them to invite another email address of yours.",
        f"To use the sign-in you have, sign in at {sign_in_url}.",
        "If you did not expect this, you can ignore this email: your account is unchanged.",
    ]
    return Email(
        to=to,
        subject=f"{practice_name} invited you to Therabill",
        text="\n\n".join(lines),
        html=html_page(
            f"{practice_name} invited you to Therabill",
            [escape(line) for line in lines[:2]],
            link=("Sign in", sign_in_url),
            after=[escape(line) for line in lines[3:]],
        ),
        sender_name="Therabill",
    )
