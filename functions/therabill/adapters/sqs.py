"""The SQS queue behind the Stripe webhook endpoint."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from therabill.core.errors import DependencyUnavailableError


class SqsQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, body: str, *, dedup_id: str) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._url,
                MessageBody=body,
                MessageAttributes={"event_id": {"DataType": "String", "StringValue": dedup_id}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("the event queue could not be reached") from exc
