from datetime import UTC, datetime, timedelta

import pytest

from therabill.core import signed_tokens
from therabill.core.errors import UnauthorizedError
from therabill.webhooks import signature

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BODY = b'{"id":"evt_1","object":"event"}'


def test_a_correctly_signed_payload_verifies():
    header = signature.sign("whsec_a", BODY, int(NOW.timestamp()))
    assert signature.verify(BODY, header, ["whsec_a"], NOW) == int(NOW.timestamp())


def test_both_secrets_are_accepted_during_rotation():
    header = signature.sign("whsec_old", BODY, int(NOW.timestamp()))
    assert signature.verify(BODY, header, ["whsec_new", "whsec_old"], NOW)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("garbage", "malformed"),
        ("t=abc,v1=00", "malformed"),
        (signature.sign("whsec_wrong", BODY, int(NOW.timestamp())), "does not match"),
        (signature.sign("whsec_a", BODY, int((NOW - timedelta(minutes=6)).timestamp())), "too old"),
        (signature.sign("whsec_a", BODY, int((NOW + timedelta(minutes=6)).timestamp())), "future"),
    ],
)
def test_bad_signatures_are_refused_with_a_reason(header, reason):
    with pytest.raises(signature.SignatureError, match=reason):
        signature.verify(BODY, header, ["whsec_a"], NOW)


def test_a_tampered_body_is_refused():
    header = signature.sign("whsec_a", BODY, int(NOW.timestamp()))
    with pytest.raises(signature.SignatureError):
        signature.verify(BODY + b" ", header, ["whsec_a"], NOW)


def test_an_empty_secret_is_refused_outright():
    header = signature.sign("", BODY, int(NOW.timestamp()))
    with pytest.raises(signature.SignatureError, match="not configured"):
        signature.verify(BODY, header, [""], NOW)


def test_link_tokens_round_trip_and_expire():
    key = "k" * 40
    token = signed_tokens.sign(key, "card-setup", {"p": "prc_1"}, NOW + timedelta(hours=1))
    assert signed_tokens.verify(key, "card-setup", token, NOW)["p"] == "prc_1"
    with pytest.raises(UnauthorizedError, match="expired"):
        signed_tokens.verify(key, "card-setup", token, NOW + timedelta(hours=2))


def test_a_token_for_one_purpose_is_useless_for_another():
    key = "k" * 40
    token = signed_tokens.sign(key, "card-setup", {"p": "prc_1"}, NOW + timedelta(hours=1))
    with pytest.raises(UnauthorizedError):
        signed_tokens.verify(key, "payment-auth", token, NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???"])
def test_malformed_tokens_are_unauthorized_not_errors(token):
    with pytest.raises(UnauthorizedError):
        signed_tokens.verify("k" * 40, "card-setup", token, NOW)


@pytest.mark.parametrize("header", ["t=" + "9" * 4000 + ",v1=00", "t=-5,v1=00", "t=1e9,v1=00", "x" * 5000])
def test_absurd_signature_headers_are_refused_not_crashed(header):
    with pytest.raises(signature.SignatureError):
        signature.verify(BODY, header, ["whsec_a"], NOW)
