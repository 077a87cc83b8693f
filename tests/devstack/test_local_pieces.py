"""Small pure pieces of the local system: ARN mapping, batch-failure rules, the mailbox parser."""

from __future__ import annotations

from typing import Any

import pytest
from devstack.functions import FunctionNotFoundError, function_name_for_arn, local_function_arn
from devstack.mailbox import from_model_data
from devstack.sqs_poller import SqsPoller


@pytest.mark.parametrize(
    ("arn", "function"),
    [
        (
            "arn:aws:lambda:us-east-1:123456789012:function:therabill-prod-payments-reconciler",
            "payments-reconciler",
        ),
        ("arn:aws:lambda:eu-west-1:1:function:Therabill-dev-stripe-worker:live", "stripe-worker"),
        ("therabill-local-staff-api", "staff-api"),
        (local_function_arn("public-api"), "public-api"),
    ],
)
def test_lambda_arns_map_to_contract_functions(arn: str, function: str) -> None:
    assert function_name_for_arn(arn) == function


@pytest.mark.parametrize(
    "arn", ["arn:aws:lambda:us-east-1:1:function:something-else", "arn:aws:sqs:us-east-1:1:queue"]
)
def test_unknown_targets_are_refused(arn: str) -> None:
    with pytest.raises(FunctionNotFoundError):
        function_name_for_arn(arn)


class _NoSqs:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError("no SQS calls expected")


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({"statusCode": 200}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),  # unknown id: whole batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),  # malformed: whole batch
        ({"batchItemFailures": [{}]}, {"a", "b"}),
    ],
)
def test_partial_batch_failure_rules(result: Any, failed: set[str]) -> None:
    poller = SqsPoller(_NoSqs(), "url", "stripe-worker", lambda name, event: None)
    assert poller._failed_ids(result, {"a", "b"}) == failed


def test_mailbox_reads_raw_and_simple_messages_from_moto_model_data() -> None:
    raw = (
        "From: Billing <billing@p.localhost>\r\nTo: c@x.localhost\r\nSubject: =?utf-8?q?Re=C3=A7u?=\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPaid, thanks.\r\n"
        '--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="r.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b1--\r\n"
    )
    data = {
        "ses": {
            "RawMessage": [
                {
                    "id": "m1",
                    "source": "billing@p.localhost",
                    "raw_data": raw,
                    "destinations": ["c@x.localhost", "c@x.localhost"],
                }
            ],
            "Message": [
                {
                    "id": "m2",
                    "source": "s@p.localhost",
                    "subject": "Hi",
                    "body": "Hello",
                    "destinations": {"ToAddresses": ["d@x.localhost"], "BccAddresses": ["e@x.localhost"]},
                }
            ],
        }
    }
    first, second = from_model_data(data)
    assert first["to"] == ["c@x.localhost"]
    assert first["subject"] == "Re\u00e7u"
    assert first["from"] == "Billing <billing@p.localhost>"
    assert first["text"].strip() == "Paid, thanks."
    assert first["attachments"] == [{"filename": "r.pdf", "content_type": "application/pdf", "size": 5}]
    assert first["raw"] == raw
    assert second == {
        "id": "m2",
        "from": "s@p.localhost",
        "to": ["d@x.localhost", "e@x.localhost"],
        "subject": "Hi",
        "text": "Hello",
        "html": None,
        "attachments": [],
        "raw": None,
    }


def test_a_folded_subject_reads_as_one_line() -> None:
    from email.message import EmailMessage

    from devstack.mailbox import parse_raw

    message = EmailMessage()
    message["From"] = "billing@p.localhost"
    message["To"] = "c@x.localhost"
    subject = "Please confirm your payment to " + "A Rather Long Practice Name For Speech " * 3
    message["Subject"] = subject
    message.set_content("Hello")
    raw = message.as_string()
    assert "\n " in raw.split("\n\n", 1)[0]  # the header really is folded
    assert parse_raw(raw)["subject"] == " ".join(subject.split())


def test_stopping_the_stack_stops_every_queue_poller() -> None:
    from pathlib import Path

    from devstack.run import Stack

    stopped: list[str] = []

    class Piece:
        def __init__(self, name: str) -> None:
            self.name = name

        def stop(self, *args: object) -> None:
            stopped.append(self.name)

    stack = Stack(
        base_dir=Path("/nonexistent"),
        host="127.0.0.1",
        ports={},
        resources=None,  # type: ignore[arg-type]
        registry=None,  # type: ignore[arg-type]
        gateway=Piece("gateway"),  # type: ignore[arg-type]
        scheduler=Piece("scheduler"),  # type: ignore[arg-type]
        poller=Piece("stripe-events poller"),  # type: ignore[arg-type]
        secrets={},
        more_pollers=[Piece("nightly poller")],  # type: ignore[list-item]
    )
    stack.stop()
    assert sorted(stopped) == ["gateway", "nightly poller", "scheduler", "stripe-events poller"]
