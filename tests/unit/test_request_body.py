"""A request's raw body: bounded in bytes (not characters), checked before it is decoded."""

import base64

import pytest

from therabill.core.errors import InvalidRequestError, PayloadTooLargeError
from therabill.core.request_body import body_bytes, body_text


def test_the_limit_is_inclusive_and_counts_bytes_not_characters():
    assert body_bytes({"body": "x" * 100}, limit=100) == b"x" * 100
    with pytest.raises(PayloadTooLargeError):
        body_bytes({"body": "x" * 101}, limit=100)
    with pytest.raises(PayloadTooLargeError):  # 60 characters, 120 bytes
        body_bytes({"body": "é" * 60}, limit=100)


def test_a_base64_body_is_bounded_by_what_it_decodes_to():
    exact = base64.b64encode(b"\xff" * 100).decode()
    assert body_bytes({"body": exact, "isBase64Encoded": True}, limit=100) == b"\xff" * 100
    over = base64.b64encode(b"\xff" * 101).decode()
    with pytest.raises(PayloadTooLargeError):
        body_bytes({"body": over, "isBase64Encoded": True}, limit=100)
    with pytest.raises(InvalidRequestError):
        body_bytes({"body": "not base64!", "isBase64Encoded": True}, limit=100)


def test_text_must_be_utf8():
    assert body_text({"body": None}, limit=10) == ""
    with pytest.raises(InvalidRequestError, match="not UTF-8"):
        body_text({"body": base64.b64encode(b"ok \xff").decode(), "isBase64Encoded": True}, limit=10)
    with pytest.raises(InvalidRequestError, match="not UTF-8"):
        body_text({"body": "lone \ud800"}, limit=10)
