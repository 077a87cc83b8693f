"""The wording of the user pool's own emails (its CustomMessage trigger): the invitation a new
staff member gets, naming the practice, their role, where to sign in, their user name and the
temporary password; and the password-reset code. Cognito fills in the placeholders it hands the
trigger (``{username}``, ``{####}``), which every invitation must carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from therabill import contract
from therabill.core.errors import NotFoundError
from therabill.notifications.html import html_page
from therabill.practices.service import PracticeService

INVITATION = "CustomMessage_AdminCreateUser"
FORGOT_PASSWORD = "CustomMessage_ForgotPassword"
TRIGGERS = frozenset({INVITATION, FORGOT_PASSWORD})
CODE = "{####}"
USERNAME = "{username}"

ROLE_WORDS = {
    "owner": "an owner (everything, including staff and settings)",
    "biller": "a biller (clients' accounts, charges, invoices and reports)",
    "clinician": "a clinician (your sessions and their notes)",
    "front_desk": "front desk (booking, check-in and payments at the desk)",
}


@dataclass(frozen=True)
class Message:
    subject: str
    html: str
    text: str


SUBJECT_LIMIT = 140  # Cognito's limit on an email subject


def invitation_subject(practice: str) -> str:
    """``You're invited to <practice> on Therabill``, the name shortened (with an ellipsis) where
    the whole would pass Cognito's subject limit."""
    frame = "You're invited to {} on Therabill"
    room = SUBJECT_LIMIT - len(frame.format(""))
    if len(practice) > room:
        practice = practice[: room - 1].rstrip() + "…"
    return frame.format(practice)


def invitation(
    *,
    practice: str,
    role: str,
    name: str | None,
    sign_in_url: str,
    username: str = USERNAME,
    code: str = CODE,
) -> Message:
    """The invitation: who invited them to what, and the first sign-in."""
    greeting = f"Hello {name}," if name else "Hello,"
    lines = [
        greeting,
        f"{practice} has invited you to Therabill as {ROLE_WORDS.get(role, role)}.",
        f"Sign in at {sign_in_url} with this email address (or the user name {username}) and the "
        f"temporary password {code}. You will choose your own password, and set up a sign-in "
        "code app, the first time you sign in.",
        "The temporary password works for 3 days. After that, ask an owner of the practice to "
        "invite you again.",
    ]
    return Message(
        subject=invitation_subject(practice),
        html=html_page(
            f"Welcome to {practice}",
            [escape(line) for line in lines[:2]],
            link=("Sign in to Therabill", sign_in_url),
            after=[escape(line) for line in lines[2:]],
        ),
        text="\n\n".join(lines),
    )


def reset_code(*, practice: str | None, sign_in_url: str, code: str = CODE) -> Message:
    """The code that sets a new password (asked for on the sign-in page)."""
    where = f" for {practice}" if practice else ""
    lines = [
        f"Your code to set a new Therabill password{where} is {code}.",
        f"Enter it on the sign-in page ({sign_in_url}) with your new password.",
        "If you did not ask for a new password, ignore this email: your password is unchanged.",
    ]
    return Message(
        subject="Your Therabill password reset code",
        html=html_page("Reset your password", [escape(line) for line in lines]),
        text="\n\n".join(lines),
    )


class InvitationMessages:
    """The staff user pool's CustomMessage trigger: its messages name the user's practice."""

    def __init__(self, *, practices: PracticeService, sign_in_url: str) -> None:
        self._practices = practices
        self._sign_in_url = sign_in_url

    def answer(self, event: dict[str, Any]) -> dict[str, Any]:
        return custom_message(event, practice_name=self._practice_name, sign_in_url=self._sign_in_url)

    def _practice_name(self, practice_id: str) -> str | None:
        try:
            return self._practices.get(practice_id).name
        except NotFoundError:
            return None


def custom_message(
    event: dict[str, Any], *, practice_name: Callable[[str], str | None], sign_in_url: str
) -> dict[str, Any]:
    """The user pool's CustomMessage event answered: its subject and message set for an
    invitation or a password reset (any other message is left as Cognito words it)."""
    source = event.get("triggerSource")
    if source not in TRIGGERS:
        return event
    request = event.get("request") or {}
    attributes = request.get("userAttributes") or {}
    practice_id = attributes.get(contract.CLAIM_PRACTICE_ID)
    practice = practice_name(practice_id) if practice_id else None
    code = request.get("codeParameter") or CODE
    if source == INVITATION:
        message = invitation(
            practice=practice or "Your practice",
            role=attributes.get(contract.CLAIM_ROLE, ""),
            name=attributes.get("name"),
            sign_in_url=sign_in_url,
            username=request.get("usernameParameter") or USERNAME,
            code=code,
        )
    else:
        message = reset_code(practice=practice, sign_in_url=sign_in_url, code=code)
    response = dict(event.get("response") or {})
    response.update(emailSubject=message.subject, emailMessage=message.html)
    return {**event, "response": response}
