import base64
import json

import pytest

from therabill.adapters.dynamo import decode_cursor, encode_cursor
from therabill.core.errors import InvalidRequestError

GOOD = {"PK": "P#prc_a", "SK": "CLIENT#cli_1"}


def _enc(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


def test_a_cursor_round_trips_within_its_query():
    cursor = encode_cursor(GOOD)
    assert decode_cursor(cursor, partition="P#prc_a", prefix="CLIENT#") == GOOD


@pytest.mark.parametrize(
    "cursor",
    [
        _enc({"PK": "P#prc_b", "SK": "CLIENT#cli_1"}),  # another practice
        _enc({"PK": "P#prc_a", "SK": "CARD#cli_1#c"}),  # outside the prefix
        _enc({"PK": "P#prc_a"}),  # no sort key
        _enc({**GOOD, "extra": "x"}),  # extra attributes
        _enc({"PK": "P#prc_a", "SK": 5}),  # wrong type
        _enc(["PK", "SK"]),
        "not base64 at all!!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_any_other_cursor_is_a_400(cursor):
    with pytest.raises(InvalidRequestError):
        decode_cursor(cursor, partition="P#prc_a", prefix="CLIENT#")
