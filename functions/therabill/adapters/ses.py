"""SES transport: raw MIME through SendRawEmail (works with moto; SES v2 templates do not)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill.core.errors import DependencyUnavailableError
from therabill.notifications.mailer import EmailRejectedError


class SesTransport:
    def __init__(self, client: Any) -> None:
        self._client = client

    def send_raw(self, *, sender: str, recipients: list[str], raw: bytes) -> str:
        try:
            out = self._client.send_raw_email(
                Source=sender, Destinations=recipients, RawMessage={"Data": raw}
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("Throttling", "ThrottlingException", "ServiceUnavailable"):
                raise DependencyUnavailableError("email service is busy") from exc
            if code in ("MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException"):
                raise EmailRejectedError(f"the email was rejected ({code})", code=code) from exc
            raise
        except BotoCoreError as exc:
            raise DependencyUnavailableError("email service unreachable") from exc
        return str(out["MessageId"])
