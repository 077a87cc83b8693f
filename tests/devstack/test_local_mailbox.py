"""The local mailbox reads the sent mail alone from the local moto server's mail route, in the
shape of moto's model dump (which dumps every model instance moto tracked, each DynamoDB item
version too, and grows slow as the stack runs)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from devstack.mailbox import MAIL_PATH, from_model_data
from devstack.run import Stack

from tests.devstack.stacks import module_stack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local-stack")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from module_stack(tmp_path_factory, seed=False)


def test_the_mail_route_answers_ses_alone_as_the_model_dump_has_it(stack: Stack) -> None:
    ses = stack.boto3_session().client("ses")
    to = f"mail-{uuid.uuid4().hex[:8]}@example.localhost"
    raw = f"From: {stack.resources.email_sender}\r\nTo: {to}\r\nSubject: Raw\r\n\r\nOne.\r\n"
    ses.send_raw_email(Source=stack.resources.email_sender, Destinations=[to], RawMessage={"Data": raw})
    ses.send_email(
        Source=stack.resources.email_sender,
        Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": "Simple"}, "Body": {"Text": {"Data": "Two."}}},
    )

    route = requests.get(f"{stack.moto_url}{MAIL_PATH}", timeout=10)
    dump = requests.get(f"{stack.moto_url}/moto-api/data.json", timeout=60).json()  # read after
    assert route.status_code == 200 and list(route.json()) == ["ses"]
    quick, full = from_model_data(route.json()), from_model_data(dump)
    assert all(mail in full for mail in quick)
    mine = [(m["subject"], m["text"].strip()) for m in quick if m["to"] == [to]]
    assert mine == [("Raw", "One."), ("Simple", "Two.")]
    listed = requests.get(f"{stack.gateway_url}/_local/emails", params={"to": to}, timeout=10).json()
    assert [m["subject"] for m in listed] == ["Raw", "Simple"]
