"""The local SQS event-source mapping: long-polls a queue and invokes a function with each batch.

It behaves like Lambda's SQS poller with ``ReportBatchItemFailures`` on:

- records carry the real message id, receipt handle, attributes (``ApproximateReceiveCount``, ...)
  and message attributes, in the shape Lambda delivers them;
- after the invocation, only the messages *not* listed in ``batchItemFailures`` are deleted; a
  response without ``batchItemFailures`` (or ``None``) means the whole batch succeeded;
- an exception, or a failure entry with an id that is not in the batch, fails the whole batch;
- failed messages stay in the queue, reappear after the visibility timeout and, after the queue's
  ``maxReceiveCount``, the emulator moves them to the dead-letter queue (moto implements redrive).
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("devstack.sqs_poller")

Invoke = Callable[[str, Any], Any]


@dataclass
class BatchOutcome:
    received: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        out[name] = entry
    return out


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as a record of the event Lambda passes to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsPoller:
    """Feeds one queue to one function, on a background thread (``start``/``stop``) or by
    ``poll_once`` (tests)."""

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        function_name: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        wait_seconds: int = 1,
        region: str = "us-east-1",
    ) -> None:
        self._sqs = sqs_client
        self.queue_url = queue_url
        self.function_name = function_name
        self._invoke = invoke
        self._batch_size = max(1, min(batch_size, 10))
        self._wait_seconds = wait_seconds
        self._region = region
        self._queue_arn: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0

    @property
    def queue_arn(self) -> str:
        if self._queue_arn is None:
            self._queue_arn = self._sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        return self._queue_arn

    def poll_once(self, wait_seconds: int | None = None) -> BatchOutcome:
        """Receive one batch (long poll), invoke the function, delete what succeeded."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds if wait_seconds is None else wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        outcome = BatchOutcome(received=len(messages))
        if not messages:
            return outcome
        self.batches += 1
        event = {"Records": [lambda_record(m, self.queue_arn, self._region) for m in messages]}
        ids = {m["MessageId"] for m in messages}
        try:
            result = self._invoke(self.function_name, event)
            failed = self._failed_ids(result, ids)
        except Exception as exc:  # a failed invocation: the whole batch is retried
            log.exception(
                "%s failed on a batch of %d from %s", self.function_name, len(messages), self.queue_url
            )
            outcome.error = f"{type(exc).__name__}: {exc}"
            failed = set(ids)
        to_delete = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(to_delete), 10):
            chunk = to_delete[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        outcome.deleted = [m["MessageId"] for m in to_delete]
        outcome.failed = [m["MessageId"] for m in messages if m["MessageId"] in failed]
        if outcome.failed:
            log.info(
                "%s: %d of %d messages failed; they return after the visibility timeout",
                self.function_name,
                len(outcome.failed),
                len(messages),
            )
        return outcome

    def _failed_ids(self, result: Any, ids: set[str]) -> set[str]:
        if result is None or not isinstance(result, dict) or "batchItemFailures" not in result:
            return set()
        failures = result["batchItemFailures"] or []
        failed: set[str] = set()
        for entry in failures:
            identifier = entry.get("itemIdentifier") if isinstance(entry, dict) else None
            if not identifier or identifier not in ids:
                # Lambda treats a malformed or unknown identifier as a failure of the whole batch.
                log.warning(
                    "%s returned an invalid batchItemFailures entry %r; failing the batch",
                    self.function_name,
                    entry,
                )
                return set(ids)
            failed.add(identifier)
        return failed

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("polling %s failed", self.queue_url)
                self._stop.wait(1.0)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"sqs-poller-{self.function_name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
