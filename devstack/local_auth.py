"""Local stand-in for the Cognito user pool: HS256 ID tokens signed with a local development key.

In AWS the staff API sits behind a Cognito user-pool authorizer, which verifies the ID token and
hands the handler its claims in ``requestContext.authorizer.claims``. Locally the HTTP gateway
plays that authorizer with :func:`verify`, and developers, tests and the seed script mint tokens
with :func:`issue_token`. The claim names come from ``therabill.contract`` so they match Cognito's.

The key is for local use only: it comes from ``THERABILL_LOCAL_AUTH_KEY`` when set, otherwise a
fixed development key (anyone can read it here, which is the point: it guards nothing real).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt

from therabill import contract

ENV_LOCAL_AUTH_KEY = "THERABILL_LOCAL_AUTH_KEY"
_DEV_KEY = "therabill-local-development-key-not-a-secret-0001"
ISSUER = "https://cognito-idp.localhost/therabill-local"
AUDIENCE = "therabill-local-staff"
ALGORITHM = "HS256"


class InvalidTokenError(Exception):
    """The token is missing, malformed, wrongly signed, expired or lacks a required claim."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


class TokenRequestError(Exception):
    """A ``POST /_local/token`` body the endpoint cannot make a token from; says which field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


STAFF_ROLES = ("owner", "biller", "front_desk", "clinician")
MAX_TTL_SECONDS = 7 * 24 * 3600
_PRACTICE_ID = re.compile(r"^prc_[0-9a-z]+$")
_TOKEN_FIELDS = ("practice_id", "role", "sub", "email", "ttl")


def _text_field(params: dict[str, Any], name: str, default: str | None) -> str | None:
    value = params.get(name, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise TokenRequestError(name, "must be non-empty text")
    return value


SignIn = Callable[[str, str, str], dict[str, str]]


def token_for_request(body: bytes | None, sign_in: SignIn | None = None) -> str:
    """An ID token for a ``POST /_local/token`` body:
    ``{"practice_id": "prc_…", "role": "owner", "sub": "…", "email": "…", "ttl": seconds}`` (only
    ``practice_id`` is required). Raises :class:`TokenRequestError` naming the field at fault.
    ``sign_in(practice_id, role, email)``: the claims of the staff member who signs in (their
    sub, role and staff id, see devstack/local_staff.py), which the token carries instead."""
    params = _json_object(body, _TOKEN_FIELDS, 'e.g. {"practice_id": "prc_123", "role": "owner"}')
    practice_id = params.get("practice_id")
    if practice_id is None:
        raise TokenRequestError("practice_id", "is required: the practice the staff user works for")
    if not isinstance(practice_id, str) or not _PRACTICE_ID.match(practice_id):
        raise TokenRequestError("practice_id", "must be a practice id, e.g. prc_1a2b3c")
    role = params.get("role", "owner")
    if role not in STAFF_ROLES:
        raise TokenRequestError("role", f"must be one of {', '.join(STAFF_ROLES)}")
    ttl = params.get("ttl", 12 * 3600)
    if type(ttl) is not int or not 1 <= ttl <= MAX_TTL_SECONDS:
        raise TokenRequestError("ttl", f"must be a whole number of seconds from 1 to {MAX_TTL_SECONDS:,}")
    sub = _text_field(params, "sub", None)
    email = _text_field(params, "email", "owner@practice.localhost")
    assert email is not None
    if sign_in is None:
        return issue_token(practice_id, role, sub, email, ttl)
    member = sign_in(practice_id, role, email)
    return issue_token(
        practice_id,
        member[contract.CLAIM_ROLE],
        member[contract.CLAIM_SUBJECT],
        email,
        ttl,
        extra_claims={contract.CLAIM_STAFF_ID: member[contract.CLAIM_STAFF_ID]},
    )


def signing_key() -> str:
    return os.environ.get(ENV_LOCAL_AUTH_KEY) or _DEV_KEY


def issue_token(
    practice_id: str,
    role: str = "owner",
    sub: str | None = None,
    email: str = "owner@practice.localhost",
    ttl: int = 12 * 3600,
    *,
    extra_claims: dict[str, Any] | None = None,
    key: str | None = None,
) -> str:
    """An ID token with the claims Cognito would put in it for a staff user of ``practice_id``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        contract.CLAIM_SUBJECT: sub or f"user-{uuid.uuid4()}",
        contract.CLAIM_PRACTICE_ID: practice_id,
        contract.CLAIM_ROLE: role,
        contract.CLAIM_EMAIL: email,
        "email_verified": True,
        "token_use": "id",
        "cognito:username": email,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "auth_time": now,
        "exp": now + int(ttl),
    }
    claims.update(extra_claims or {})
    return jwt.encode(claims, key or signing_key(), algorithm=ALGORITHM)


def verify(token: str, *, key: str | None = None) -> dict[str, Any]:
    """The token's claims if it is valid; raises :class:`InvalidTokenError` otherwise."""
    if not token:
        raise InvalidTokenError("missing token")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key or signing_key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("token expired", expired=True) from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"invalid token: {exc}") from exc
    if claims.get("token_use") != "id":
        raise InvalidTokenError("not an ID token")
    for name in (contract.CLAIM_PRACTICE_ID, contract.CLAIM_ROLE):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise InvalidTokenError(f"missing claim {name}")
    return claims


def authorizer_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as the REST API's Cognito authorizer passes them: every value a string."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


# ---------------------------------------------------------------- POST /_local/sign-in
_SIGN_IN_FIELDS = ("email", "password", "new_password")


class SignInRefusedError(Exception):
    """The user pool refused the sign-in (``status`` 401), or wants a new password first (409,
    ``code`` ``new_password_required``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _json_object(body: bytes | None, fields: tuple[str, ...], example: str) -> dict[str, Any]:
    """A local endpoint's body: a JSON object of ``fields`` only; else TokenRequestError saying
    the shape (``example``) or naming the unknown field."""
    try:
        params = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        params = None
    if not isinstance(params, dict):
        raise TokenRequestError("", f"the body must be a JSON object, {example}")
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise TokenRequestError(unknown[0], f"is not a field of this request ({', '.join(fields)})")
    return params


def _sign_in_params(body: bytes | None) -> tuple[str, str, str | None]:
    params = _json_object(body, _SIGN_IN_FIELDS, 'e.g. {"email": "…", "password": "…"}')
    email = _text_field(params, "email", None)
    password = _text_field(params, "password", None)
    if email is None:
        raise TokenRequestError("email", "is required: the address the invitation went to")
    if password is None:
        raise TokenRequestError("password", "is required: the temporary password, or your own")
    if '"' in email or "\\" in email:
        raise TokenRequestError("email", "must be an email address")
    return email.strip().lower(), password, _text_field(params, "new_password", None)


def sign_in(cognito: Any, *, pool_id: str, client_id: str, body: bytes | None) -> str:
    """An ID token for ``POST /_local/sign-in`` ``{"email", "password", "new_password"?}``: the user
    pool checks the password (ADMIN_USER_PASSWORD_AUTH) and, for a first sign-in, sets the new one
    (NEW_PASSWORD_REQUIRED); the token carries the user's own attributes as claims, as Cognito's
    ID token does. Raises TokenRequestError (a bad body) or SignInRefusedError."""
    email, password, new_password = _sign_in_params(body)
    # Cognito signs in by the email alias itself; moto only by user name: find it.
    users = cognito.list_users(UserPoolId=pool_id, Filter=f'email = "{email}"', Limit=1)["Users"]
    if not users:
        raise _refused()
    username = users[0]["Username"]
    _authenticate(cognito, pool_id, client_id, username, password, new_password)
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    claims = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    if not claims.get(contract.CLAIM_PRACTICE_ID) or not claims.get(contract.CLAIM_ROLE):
        raise _refused()
    return issue_token(
        claims[contract.CLAIM_PRACTICE_ID],
        claims[contract.CLAIM_ROLE],
        sub=claims[contract.CLAIM_SUBJECT],
        email=claims.get(contract.CLAIM_EMAIL, email),
        extra_claims={
            contract.CLAIM_STAFF_ID: claims.get(contract.CLAIM_STAFF_ID, username),
            "cognito:username": username,
        },
    )


def _refused() -> SignInRefusedError:
    """The one answer for a wrong address and a wrong password."""
    return SignInRefusedError(401, contract.UNAUTHORIZED_CODE, "Incorrect email or password.")


def _authenticate(
    cognito: Any, pool_id: str, client_id: str, username: str, password: str, new_password: str | None
) -> None:
    """The password checked, and a first sign-in's new password set; refused otherwise."""
    try:
        out = cognito.admin_initiate_auth(
            UserPoolId=pool_id,
            ClientId=client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        if out.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            if new_password is None:
                raise SignInRefusedError(
                    409, "new_password_required", "First sign-in: send new_password to choose your own."
                )
            out = cognito.admin_respond_to_auth_challenge(
                UserPoolId=pool_id,
                ClientId=client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": new_password},
                Session=out["Session"],
            )
    except cognito.exceptions.NotAuthorizedException:
        raise _refused() from None
    except cognito.exceptions.InvalidPasswordException:
        raise TokenRequestError(
            "new_password", "must be 12 or more characters with upper and lower case, a digit and a symbol"
        ) from None
    if "AuthenticationResult" not in out:
        raise SignInRefusedError(409, "challenge", f"the user pool asks for {out.get('ChallengeName')}")
