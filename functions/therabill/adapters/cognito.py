"""The staff directory in Cognito (``cognito-idp`` admin actions on the staff user pool).

Each user is named by its staff id (the pool signs in by email, an alias) and carries the claims
the staff API reads: ``custom:practice_id`` and ``custom:staff_id`` (immutable) and
``custom:role``. The staff item, not the token, is the truth the API checks on every request;
these claims are kept in step for the clients that read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill import contract
from therabill.core.errors import DependencyUnavailableError
from therabill.staff.errors import DirectoryConflictError, EmailRegisteredError, EmailUnavailableError

_BUSY = frozenset({"TooManyRequestsException", "InternalErrorException", "LimitExceededException"})
# The invitation could not be worded or delivered (the CustomMessage trigger failed or timed out,
# or the mail was refused): the user pool made nothing the caller can use yet; a retry may pass.
_UNDELIVERED = frozenset(
    {
        "UnexpectedLambdaException",
        "InvalidLambdaResponseException",
        "UserLambdaValidationException",
        "CodeDeliveryFailureException",
    }
)


@contextmanager
def _translate() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _BUSY:
            raise DependencyUnavailableError("the sign-in service is busy; try again") from exc
        if code in _UNDELIVERED:
            raise DependencyUnavailableError("the invitation could not be sent just now; try again") from exc
        if code == "AliasExistsException":  # another user has the address (verified, an alias)
            raise EmailRegisteredError("this email address cannot be invited", field="email") from exc
        if code == "InvalidParameterException":  # an address the user pool will not take
            raise EmailUnavailableError("this email address cannot be invited", field="email") from exc
        raise
    except BotoCoreError as exc:
        raise DependencyUnavailableError("the sign-in service could not be reached") from exc


def _attributes(raw: list[dict[str, str]]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in raw}


class CognitoDirectory:
    def __init__(self, client: Any, user_pool_id: str) -> None:
        self._client = client
        self._pool = user_pool_id

    def create_user(self, *, practice_id: str, staff_id: str, email: str, name: str, role: str) -> str:
        attributes = [
            {"Name": contract.CLAIM_EMAIL, "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": name},
            {"Name": contract.CLAIM_PRACTICE_ID, "Value": practice_id},
            {"Name": contract.CLAIM_STAFF_ID, "Value": staff_id},
            {"Name": contract.CLAIM_ROLE, "Value": role},
        ]
        try:
            with _translate():
                out = self._client.admin_create_user(
                    UserPoolId=self._pool,
                    Username=staff_id,
                    UserAttributes=attributes,
                    DesiredDeliveryMediums=["EMAIL"],
                )
            return _attributes(out["User"]["Attributes"])[contract.CLAIM_SUBJECT]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "UsernameExistsException":
                raise
        return self._existing(practice_id, staff_id)

    def _existing(self, practice_id: str, staff_id: str) -> str:
        """A retried create: the user made before, if it is this member's."""
        with _translate():
            out = self._client.admin_get_user(UserPoolId=self._pool, Username=staff_id)
        claims = _attributes(out.get("UserAttributes", []))
        if (
            claims.get(contract.CLAIM_PRACTICE_ID) != practice_id
            or claims.get(contract.CLAIM_STAFF_ID) != staff_id
        ):
            raise DirectoryConflictError("the sign-in service holds another user of this name")
        return claims[contract.CLAIM_SUBJECT]

    def resend_invitation(self, staff_id: str) -> bool:
        try:
            with _translate():
                user = self._client.admin_get_user(UserPoolId=self._pool, Username=staff_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
                return False
            raise
        if user.get("UserStatus") != "FORCE_CHANGE_PASSWORD":
            return False
        with _translate():
            self._client.admin_create_user(
                UserPoolId=self._pool,
                Username=staff_id,
                MessageAction="RESEND",
                DesiredDeliveryMediums=["EMAIL"],
            )
        return True

    def email_registered(self, email: str) -> bool:
        """Whether a user of the pool has this address (sign-up's check; the alias is unique)."""
        if '"' in email or "\\" in email:
            raise ValueError("an address with quotes or backslashes cannot be looked up")
        with _translate():
            out = self._client.list_users(
                UserPoolId=self._pool, Filter=f'email = "{email}"', Limit=1, AttributesToGet=[]
            )
        return bool(out.get("Users"))

    def set_role(self, staff_id: str, role: str) -> None:
        with _translate():
            self._client.admin_update_user_attributes(
                UserPoolId=self._pool,
                Username=staff_id,
                UserAttributes=[{"Name": contract.CLAIM_ROLE, "Value": role}],
            )

    def disable(self, staff_id: str) -> None:
        with _translate():
            self._client.admin_disable_user(UserPoolId=self._pool, Username=staff_id)

    def enable(self, staff_id: str) -> None:
        with _translate():
            self._client.admin_enable_user(UserPoolId=self._pool, Username=staff_id)

    def delete(self, staff_id: str) -> None:
        with self._gone_is_fine(), _translate():
            self._client.admin_delete_user(UserPoolId=self._pool, Username=staff_id)

    def sign_out(self, staff_id: str) -> None:
        with self._gone_is_fine(), _translate():
            self._client.admin_user_global_sign_out(UserPoolId=self._pool, Username=staff_id)

    @staticmethod
    @contextmanager
    def _gone_is_fine() -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "UserNotFoundException":
                raise
