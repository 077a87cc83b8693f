"""The public sign-up form's route (included by api/public.py; no token): a practice signs up
with its owner's email, its name and time zone, and the owner's name.

Every sign-up that passes validation and the rate limits is answered 202 with the same body,
whether the address was new (the practice and its owner are made, and the identity provider
emails the invitation) or already had an account (an email tells its owner how to sign in), so
no answer says whether an address is registered."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from therabill.api import errors
from therabill.api.deps import container
from therabill.api.documents import answers, body_of
from therabill.api.inputs import Text
from therabill.core.clock import zone
from therabill.signup.errors import TooManySignupsError
from therabill.signup.models import SignupForm

router = APIGatewayRouter()  # type: ignore[no-untyped-call]

# A practical address check (no DNS at request time): one @, a dotted domain, no spaces, no
# quotes or backslashes (the identity provider's lookups quote the address).
_EMAIL = r'^[^@\s"\\]{1,64}@[^@\s"\\]+\.[A-Za-z]{2,}$'
ACCEPTED = (
    "Thanks. Check your email: if this address can sign up, we have sent it an invitation with a "
    "temporary password; if it already has an account, we have sent it how to sign in."
)


class SignupIn(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    email: Text = Field(pattern=_EMAIL, max_length=254, description="the owner's email; they sign in with it")
    practice_name: Text = Field(min_length=2, max_length=120)
    time_zone: Text = Field(
        min_length=3, max_length=64, description="the practice's IANA time zone, e.g. America/New_York"
    )
    name: Text = Field(min_length=1, max_length=120, description="the owner's name")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if "/" not in v:  # "UTC", "EST" and the like are zones, but never a practice's
            raise ValueError("must be an IANA time zone of a place, e.g. America/New_York")
        zone(v)
        return v


class SignupAccepted(BaseModel):
    model_config = ConfigDict(defer_build=True)
    message: str = Field(description="the same for every accepted sign-up")


def _source_ip() -> str:
    return str(router.current_event.request_context.identity.source_ip or "unknown")


@router.post(
    "/signup",
    status_code=202,
    responses=answers({202: body_of(SignupAccepted, "Accepted: check your email.")}, 429),
)
def sign_up(body: Annotated[SignupIn, Body()]) -> Response[str]:
    """Sign a practice up: the practice and its owner are created once (a retry changes nothing);
    the owner is emailed an invitation, or how to sign in when the address already has an
    account. The answer is the same either way."""
    form = SignupForm(
        email=body.email, practice_name=body.practice_name, time_zone=body.time_zone, name=body.name
    )
    try:
        container().signup.sign_up(form, source_ip=_source_ip())
    except TooManySignupsError as exc:
        refusal = errors.ErrorBody(code="too_many_attempts", message=exc.message)
        return Response(
            status_code=429,
            content_type=content_types.APPLICATION_JSON,
            body=refusal.model_dump_json(),
            headers={"Retry-After": str(exc.details.get("retry_after", 3600))},
        )
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=SignupAccepted(message=ACCEPTED).model_dump_json(),
    )
