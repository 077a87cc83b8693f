"""The nightly-dispatch firing of a session's billing at completion refuses an event that names
no session or no client before anything is read."""

from __future__ import annotations

from typing import Any, cast

import pytest

from therabill.adapters.scheduler import completion_schedule_name
from therabill.core.errors import InvalidRequestError
from therabill.nightly.service import NightlyService
from therabill.nightly.worker import dispatch

PRC = "prc_01jz0000000000000000000000"
CLI = "cli_01jz0000000000000000000000"
SES = "ses_01jz0000000000000000000000"


class _Nothing:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"nothing is read or billed ({name})")


@pytest.mark.parametrize(
    ("event", "what"),
    [
        ({"client_id": CLI}, "session"),
        ({"client_id": CLI, "session_id": "cli_01jz0000000000000000000000"}, "session"),
        ({"session_id": SES}, "client"),
        ({"session_id": SES, "client_id": 7}, "client"),
    ],
)
def test_a_firing_naming_no_session_or_client_is_refused(event: dict[str, Any], what: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"names no {what}"):
        dispatch({"practice_id": PRC, "kind": "session", **event}, cast(NightlyService, _Nothing()))


def test_schedule_names_fit_the_scheduler_and_the_iam_pattern() -> None:
    name = completion_schedule_name(PRC, SES, "note-signed")
    assert name.startswith("billing-now-") and len(name) <= 64
    assert name != completion_schedule_name(PRC, SES, "completed")
    assert name == completion_schedule_name(PRC, SES, "note-signed")
