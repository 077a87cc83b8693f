"""What Cognito does that moto leaves out, played locally for the staff user pool.

- **Invitations.** Cognito's AdminCreateUser makes a temporary password and emails the
  invitation, worded by the pool's CustomMessage trigger. moto makes no password (nobody could
  sign in) and sends nothing. Locally, hooks on the runtime's boto3 session (the one every
  function's clients come from) give each new user a temporary password when the call names
  none, then invoke the ``staff-messages`` function with the event Cognito sends it
  (``CustomMessage_AdminCreateUser``), fill in ``{username}`` and ``{####}`` as Cognito does and
  send the message through the emulated SES, so it lands in the local mailbox
  (``GET /_local/emails``). An invitation sent again (``MessageAction=RESEND``) gets a new
  temporary password, set on the user as Cognito does, and is delivered the same way.
- **Email aliases.** The pool signs in by email as an alias, so Cognito refuses a second user
  with an email another user has verified (``AliasExistsException``); moto does not check.
  Locally the same refusal is played before the call (:func:`refuse_taken_email`).
- **Sign-in** (``POST /_local/sign-in``): :func:`devstack.local_auth.sign_in` answers with a local
  ID token made from the user's attributes.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from email.message import EmailMessage
from typing import Any

from botocore.exceptions import ClientError

from therabill import contract

log = logging.getLogger("devstack.local_cognito")

INVITATION = "CustomMessage_AdminCreateUser"
_PASSWORD_KEY = "therabill_local_temporary_password"
_POOL_KEY = "therabill_local_user_pool"
_RESEND_KEY = "therabill_local_resend"  # the user's attributes before the call


def temporary_password() -> str:
    """One that meets the pool's policy (upper and lower case, a digit, a symbol, 12+ long)."""
    return f"Tb-{secrets.token_urlsafe(9)}a7Q!"


def invitation_event(user: dict[str, Any], pool_id: str) -> dict[str, Any]:
    """The event Cognito hands the CustomMessage trigger for a new user."""
    attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
    attributes["cognito:user_status"] = str(user.get("UserStatus", "FORCE_CHANGE_PASSWORD"))
    return {
        "version": "1",
        "region": pool_id.partition("_")[0] or "us-east-1",
        "userPoolId": pool_id,
        "userName": user["Username"],
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "CLIENT_ID_NOT_APPLICABLE"},
        "triggerSource": INVITATION,
        "request": {
            "userAttributes": attributes,
            "codeParameter": "{####}",
            "linkParameter": "{##Click Here##}",
            "usernameParameter": "{username}",
        },
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }


def _text_of(markup: str) -> str:
    paragraphs = re.split(r"</(?:p|h2)>", markup)
    lines = [html.unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in paragraphs]
    return "\n\n".join(line for line in lines if line)


def invitation_mime(answer: dict[str, Any], *, to: str, username: str, password: str, sender: str) -> bytes:
    """The trigger's answer as the email Cognito would send (placeholders filled in)."""
    response = answer.get("response") or {}

    def filled(value: str) -> str:
        return value.replace("{username}", username).replace("{####}", password)

    message = filled(
        response.get("emailMessage") or f"Your username is {username} and temporary password is {password}."
    )
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = filled(response.get("emailSubject") or "Your temporary password")
    mail.set_content(_text_of(message))
    mail.add_alternative(message, subtype="html")
    return mail.as_bytes()


def refuse_taken_email(cognito: Any) -> Any:
    """A ``before-parameter-build`` hook for AdminCreateUser: an email another user of the pool has
    is refused as Cognito refuses it (``cognito`` is a client of the same pool, used for the look-up)."""

    def check(params: dict[str, Any], **_: Any) -> None:
        if params.get("MessageAction") == "RESEND":
            return
        attributes = {a["Name"]: a["Value"] for a in params.get("UserAttributes", [])}
        email = attributes.get(contract.CLAIM_EMAIL, "")
        if not email:
            return
        found = cognito.list_users(UserPoolId=params["UserPoolId"], Filter=f'email = "{email}"')
        if any(u["Username"] != params.get("Username") for u in found.get("Users", [])):
            raise ClientError(
                {
                    "Error": {
                        "Code": "AliasExistsException",
                        "Message": "An account with the email already exists.",
                    }
                },
                "AdminCreateUser",
            )

    return check


class LocalCognito:
    """Installs the invitation hooks on a boto3 session (the runtime's)."""

    def __init__(self, *, invoke: Any, ses: Any, sender: str) -> None:
        self._invoke = invoke  # (function name, event) -> the function's answer
        self._ses = ses
        self._sender = sender

    def install(self, session: Any) -> None:
        self._cognito = session.client("cognito-idp")  # no AdminCreateUser through it: no recursion
        events = session.events
        events.register(
            "before-parameter-build.cognito-idp.AdminCreateUser", refuse_taken_email(self._cognito)
        )
        events.register("before-parameter-build.cognito-idp.AdminCreateUser", self._before_create)
        events.register("after-call.cognito-idp.AdminCreateUser", self._after_create)

    def _before_create(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if params.get("MessageAction") == "SUPPRESS":
            return
        if params.get("MessageAction") == "RESEND":  # Cognito makes a new temporary password
            found = self._cognito.admin_get_user(UserPoolId=params["UserPoolId"], Username=params["Username"])
            context[_RESEND_KEY] = found.get("UserAttributes", [])
            context[_PASSWORD_KEY] = temporary_password()
            context[_POOL_KEY] = params.get("UserPoolId", "")
            return
        params.setdefault("TemporaryPassword", temporary_password())
        context[_PASSWORD_KEY] = params["TemporaryPassword"]
        context[_POOL_KEY] = params.get("UserPoolId", "")

    def _after_create(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        password = context.get(_PASSWORD_KEY)
        user = parsed.get("User")
        if password is None or user is None or getattr(http_response, "status_code", 500) >= 300:
            return
        if _RESEND_KEY in context:
            user = self._resent(str(context.get(_POOL_KEY)), user["Username"], password, context[_RESEND_KEY])
        attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        to = attributes.get(contract.CLAIM_EMAIL)
        if not to:
            return
        pool_id = str(context.get(_POOL_KEY) or "us-east-1_local")
        try:
            answer = self._invoke(contract.STAFF_MESSAGES_FUNCTION, invitation_event(user, pool_id))
            raw = invitation_mime(
                answer, to=to, username=user["Username"], password=password, sender=self._sender
            )
            self._ses.send_raw_email(Source=self._sender, Destinations=[to], RawMessage={"Data": raw})
        except Exception:  # Cognito sends its default message when a trigger fails; locally: say so
            log.exception("the invitation to %s could not be worded or sent", to)

    def _resent(
        self, pool_id: str, username: str, password: str, attributes: list[dict[str, str]]
    ) -> dict[str, Any]:
        """The user an invitation is sent again to, with the new temporary password set. (moto's
        RESEND also drops the user's attributes, which Cognito keeps: they are put back.)"""
        kept = [a for a in attributes if a["Name"] != "sub"]
        if kept:
            self._cognito.admin_update_user_attributes(
                UserPoolId=pool_id, Username=username, UserAttributes=kept
            )
        self._cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=username, Password=password, Permanent=False
        )
        return {"Username": username, "Attributes": attributes, "UserStatus": "FORCE_CHANGE_PASSWORD"}
