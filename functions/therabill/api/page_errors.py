"""What a public page says when it cannot be used, in words a client reads on a phone: what
happened, in a full sentence, and what to do next, naming the practice (its name and how to reach
it) when the link is one we signed, even an expired one. A malformed or tampered link names no one:
nothing in it can be trusted, so the page says so and points back to the email it came in.

Not every state is a failure: a booking already paid, or a payment already made, says so (200)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from therabill.api import errors
from therabill.bookings.errors import BookingPaidError, BookingReleasedError, NothingToPayError
from therabill.cards.errors import CardsPausedError, SetupLinkUsedError
from therabill.core.errors import (
    DependencyUnavailableError,
    NotFoundError,
    RetryLaterError,
    TherabillError,
    UnauthorizedError,
)
from therabill.core.signed_tokens import LinkExpiredError
from therabill.payments.errors import NoAuthenticationNeededError, PaymentAlreadyMadeError
from therabill.practices.models import Practice

PageKind = Literal["setup", "authenticate", "booking", "invoice", "store"]

_LINK = {
    "setup": "link to save your card",
    "authenticate": "link to confirm your payment",
    "booking": "link to pay for your appointment",
    "invoice": "pay page",
    "store": "link to the store",
}

# What to do next: each is followed by the practice's email.
_ask = "Ask {name} for a new link:"
_contact = "Questions? Contact {name}:"
_retry = "Reload the page in a minute. If it still does not open, contact {name}:"


@dataclass(frozen=True)
class Notice:
    """One state of a page: ``next_step`` is followed by the practice's email when ``email``."""

    status: int
    title: str
    happened: str
    next_step: str
    practice_name: str | None = None
    email: str | None = None


def malformed(page: PageKind) -> Notice:
    """The link's address is not one we make (cut short, changed): nothing names a practice."""
    if page == "invoice":
        return Notice(
            400,
            "This pay page address is not complete",
            "The web address of this page is incomplete or has been changed, so we cannot tell "
            "which practice it belongs to.",
            "Type the address exactly as it is printed on your invoice, or open the link in the "
            "invoice email again. If it still does not work, contact your practice.",
        )
    return Notice(
        400,
        "This link does not work",
        "The address of this page is incomplete or has been changed, so we cannot tell which "
        "practice sent it.",
        "Open the link again from the email you received (tap it rather than copying it, or copy "
        "the whole address). If it still does not work, reply to that email and ask the practice "
        "for a new link.",
    )


def no_pay_page() -> Notice:
    """No practice has the invoice pay page's id: the address was mistyped (ids are random, so
    saying so tells nothing)."""
    return Notice(
        404,
        "We could not find this pay page",
        "No practice has a pay page at this address: it may have been mistyped.",
        "Type the address exactly as it is printed on your invoice, or open the link in the invoice "
        "email again. If it still does not work, contact your practice.",
    )


def unexpected(practice: Practice | None = None) -> Notice:
    return _for(practice, 500, "Something went wrong", "We could not open this page just now.", _retry)


def notice(exc: TherabillError, *, page: PageKind, practice: Practice | None) -> Notice:
    """The page for a domain error of a link's page. ``practice``: the one that signed the link."""
    if isinstance(exc, LinkExpiredError):
        return _expired(page, practice)
    if isinstance(exc, UnauthorizedError):  # a bad signature: the link was changed
        return replace(malformed(page), status=401)
    for kind, (status, title, happened, next_step) in _STATES.items():
        if isinstance(exc, kind):
            when = exc.when if isinstance(exc, BookingPaidError | BookingReleasedError) else ""
            return _for(practice, status, title, happened.replace("{when}", when), next_step)
    if isinstance(exc, NotFoundError) and practice is None:
        return Notice(
            404,
            "This link is no longer valid",
            "We could not find the practice this link comes from.",
            "Contact your practice directly and ask for a new link.",
        )
    if isinstance(exc, NotFoundError):
        happened = f"This {_LINK[page]} from {{name}} is no longer valid."
        return _for(practice, 404, "This link is no longer valid", happened, _ask)
    status = next((s for kind, s, _ in errors.STATUS if isinstance(exc, kind)), 500)
    happened = f"This {_LINK[page]} from {{name}} cannot be used just now."
    return _for(practice, status, "This link cannot be used", happened, _contact)


# The states a link's service names (used, paid, released, paused): status, title, what happened
# and what to do next ({name}: the practice; {when}: the appointment).
_STATES: dict[type[TherabillError], tuple[int, str, str, str]] = {
    SetupLinkUsedError: (
        409,
        "Your card is already saved",
        "A card has already been saved with this link for {name}: there is nothing more to do.",
        "To save a different card, ask {name} for a new link:",
    ),
    CardsPausedError: (
        409,
        "Cards cannot be saved just now",
        "{name} cannot take cards online just now.",
        _contact,
    ),
    PaymentAlreadyMadeError: (
        200,
        "This payment is already made",
        "Your payment to {name} has already been made and confirmed: there is nothing more to do.",
        "Your receipt comes by email. Questions? Contact {name}:",
    ),
    NoAuthenticationNeededError: (
        409,
        "This payment cannot be confirmed here",
        "This payment to {name} is no longer waiting for you to confirm it (it may have been "
        "declined or cancelled), so nothing is charged through this link.",
        _contact,
    ),
    BookingPaidError: (
        200,
        "Your appointment is confirmed",
        "Your payment to {name} for your appointment on {when} has been received, and the "
        "appointment is confirmed.",
        "A confirmation is on its way by email. To change or cancel the appointment, contact {name}:",
    ),
    BookingReleasedError: (
        409,
        "This appointment is no longer held",
        "Your appointment on {when} with {name} is no longer held for you (it was not paid in time, "
        "or it was cancelled), so it cannot be paid here.",
        "To book again, contact {name}:",
    ),
    NothingToPayError: (
        404,
        "There is nothing to pay",
        "This appointment with {name} has nothing to pay online.",
        _contact,
    ),
    DependencyUnavailableError: (
        503,
        "Please try again in a minute",
        "We could not open this page just now.",
        _retry,
    ),
    RetryLaterError: (503, "Please try again in a minute", "We could not open this page just now.", _retry),
}


def _expired(page: PageKind, practice: Practice | None) -> Notice:
    if page == "booking":
        return _for(
            practice,
            401,
            "The time to pay has passed",
            "The time to pay for your appointment with {name} has passed, so this link no longer works.",
            "To book again, contact {name}:",
        )
    return _for(
        practice, 401, "This link has expired", f"This {_LINK[page]} from {{name}} has expired.", _ask
    )


def _for(practice: Practice | None, status: int, title: str, happened: str, next_step: str) -> Notice:
    """Fill in the practice (or, when it is unknown, words that point back to the link's email)."""
    if practice is None:
        name = "the practice that sent you this link"
        return Notice(
            status,
            title,
            _sentence(happened.format(name=name)),
            _sentence(next_step.format(name=name).removesuffix(":"))
            + " Reply to the email the link came in.",
        )
    return Notice(
        status,
        title,
        _sentence(happened.format(name=practice.name)),
        next_step.format(name=practice.name),
        practice_name=practice.name,
        email=practice.email,
    )


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", ":")) else text + "."
