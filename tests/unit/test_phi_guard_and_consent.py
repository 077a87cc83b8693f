from datetime import UTC, datetime, timedelta

import pytest

from therabill.cards.models import Consent, ConsentScope
from therabill.cards.service import ConsentError, check_consent
from therabill.core.money import Money
from therabill.payments.gateway import PhiLeakError
from therabill.payments.phi_guard import check_outbound

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "Psychotherapy 45 min",
        "CPT 90834",
        "Dx F41.1",
        "session for anxiety",
        "G0151 visit",
        "Occupational therapy evaluation",
    ],
)
def test_clinical_descriptions_never_leave(text):
    with pytest.raises(PhiLeakError):
        check_outbound(description=text)


def test_a_generic_description_and_id_metadata_pass():
    check_outbound(
        description="Payment pay_01hx0000000000000000000000",
        metadata={"therabill_payment_id": "pay_01hx0000000000000000000000"},
    )


@pytest.mark.parametrize(
    "metadata",
    [
        {"diagnosis": "F41.1"},
        {"therabill_payment_id": "90834"},
        {"therabill_client_id": "Jane Doe"},
    ],
)
def test_metadata_is_allow_listed_and_opaque(metadata):
    with pytest.raises(PhiLeakError):
        check_outbound(metadata=metadata)


def _consent(**overrides) -> Consent:
    base = dict(
        id="cns_1",
        client_id="cli_1",
        owner_id="cli_1",
        setup_link_id="sul_1",
        text_version="2026-11-01",
        text="I authorize",
        signer_name="Ann Client",
        signed_at=NOW,
        ip_address="203.0.113.9",
        user_agent=None,
        scope=ConsentScope(
            kinds=["copay", "cancellation_fee"],
            max_amount=Money(amount=5000, currency="usd"),
            expires_at=NOW + timedelta(days=365),
        ),
        status="active",
    )
    base.update(overrides)
    return Consent(**base)


def test_a_charge_inside_the_scope_passes():
    check_consent(_consent(), kind="copay", amount=2500, currency="usd", now=NOW)


@pytest.mark.parametrize(
    ("consent", "kind", "amount", "reason"),
    [
        (_consent(status="revoked"), "copay", 100, "not active"),
        (_consent(status="pending"), "copay", 100, "not active"),
        (_consent(), "session_fee", 100, "does not cover"),
        (_consent(), "copay", 5001, "exceeds"),
    ],
)
def test_charges_outside_the_consent_are_refused(consent, kind, amount, reason):
    with pytest.raises(ConsentError, match=reason):
        check_consent(consent, kind=kind, amount=amount, currency="usd", now=NOW)


def test_an_expired_consent_refuses():
    with pytest.raises(ConsentError, match="expired"):
        check_consent(_consent(), kind="copay", amount=100, currency="usd", now=NOW + timedelta(days=400))


def test_consent_texts_read_cleanly_with_and_without_an_expiry():
    from therabill.cards import consent_texts

    plain = consent_texts.render(
        consent_texts.CURRENT_VERSION, practice="Oak", kinds=["copay"], limit_text=None, expiry_text=None
    )
    assert "lasts until I revoke it by telling Oak;" in plain
    assert plain.count("revoke it") == 1
    dated = consent_texts.render(
        consent_texts.CURRENT_VERSION,
        practice="Oak",
        kinds=["copay"],
        limit_text="USD 50.00",
        expiry_text="2027-12-31",
    )
    assert "until 2027-12-31 or until I revoke it" in dated and "USD 50.00" in dated
    # Published versions still render as they were shown.
    old = consent_texts.render(
        "2026-11-01", practice="Oak", kinds=["copay"], limit_text=None, expiry_text="2027-12-31"
    )
    assert "lasts until 2027-12-31 or until I revoke it" in old
