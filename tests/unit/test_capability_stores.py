"""The stores of cards, notifications, webhooks and bookings: typed domain models out, their own
errors (subclasses of the core errors the HTTP mapper knows) for a failed condition."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from devstack.resources import table_definition
from moto import mock_aws

from therabill.adapters.dynamo import Table
from therabill.bookings.errors import BookingRuleNotFoundError, BookingSettingsChangedError
from therabill.bookings.models import BookingSettings
from therabill.bookings.store import BookingStore
from therabill.cards.errors import CardNotFoundError, SetupAlreadyCompletedError
from therabill.cards.models import Card, Consent, ConsentScope
from therabill.cards.store import CardStore
from therabill.clients.models import Client
from therabill.clients.store import ClientStore
from therabill.core.errors import ConflictError, NotFoundError, RetryLaterError
from therabill.core.ids import new_id
from therabill.core.money import Money
from therabill.notifications.errors import EmailBeingSentError, EmailClaimedError
from therabill.notifications.store import OutboxStore
from therabill.sessions.models import BookingPaymentRecord
from therabill.webhooks.errors import EventAlreadyRecordedError
from therabill.webhooks.store import StripeEventStore

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PRC = "prc_store"


@pytest.fixture
def table(dynamodb_client: Any) -> Iterator[Table]:
    with mock_aws():
        dynamodb_client.create_table(**table_definition("stores"))
        yield Table(dynamodb_client, "stores")


def _consent(**changes: Any) -> Consent:
    consent = Consent(
        id="cns_1",
        client_id="cli_1",
        owner_id="cli_1",
        setup_link_id="sul_1",
        text_version="v",
        text="I agree",
        signer_name="A B",
        signed_at=NOW,
        ip_address="192.0.2.1",
        user_agent="Mozilla/5.0",
        scope=ConsentScope(kinds=["copay"], max_amount=Money(amount=5000, currency="usd")),
        status="pending",
    )
    return consent.model_copy(update=changes)


def _card() -> Card:
    return Card(
        id="card_1",
        client_id="cli_1",
        owner_id="cli_1",
        payment_method_id="pm_1",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2030,
        fingerprint="fp_1",
        consent_id="cns_1",
        status="active",
        created_at=NOW,
    )


def test_a_card_set_up_completes_once_and_a_card_is_removed_once(table: Table) -> None:
    store = CardStore(table)
    store.add_consent(PRC, _consent())
    assert store.find_consent(PRC, "cns_1") == _consent()
    store.complete_setup(PRC, _consent(), _card(), "seti_1")
    with pytest.raises(SetupAlreadyCompletedError) as replay:
        store.complete_setup(PRC, _consent(), _card(), "seti_1")
    assert isinstance(replay.value, ConflictError) and replay.value.consent_id == "cns_1"
    active = store.find_consent(PRC, "cns_1")
    assert active is not None and (active.status, active.card_id, active.activated_at) == (
        "active",
        "card_1",
        NOW,
    )
    assert store.cards_of(PRC, "cli_1") == [_card()]

    store.remove_card(PRC, _card(), reason="card removed by usr_1", at=NOW)
    with pytest.raises(CardNotFoundError) as again:
        store.remove_card(PRC, _card(), reason="card removed by usr_1", at=NOW)
    assert isinstance(again.value, NotFoundError) and again.value.details == {}
    removed = store.find_card(PRC, "cli_1", "card_1")
    assert removed is not None and (removed.status, removed.removed_at) == ("removed", NOW)


def test_an_outbox_claim_is_taken_once(table: Table) -> None:
    store = OutboxStore(table)
    store.claim(PRC, "k", subject="Hello", at=NOW)
    with pytest.raises(EmailClaimedError) as claimed:
        store.claim(PRC, "k", subject="Hello", at=NOW)
    assert claimed.value.status == "sending" and claimed.value.claimed_at is not None
    store.take_over(PRC, "k", stale_claim=claimed.value.claimed_at, at=NOW + timedelta(minutes=6))
    with pytest.raises(EmailBeingSentError) as lost:  # the claim moved on
        store.take_over(PRC, "k", stale_claim=claimed.value.claimed_at, at=NOW + timedelta(minutes=7))
    assert isinstance(lost.value, RetryLaterError)


def test_a_stripe_event_is_recorded_once(table: Table) -> None:
    store = StripeEventStore(table)
    event = {"id": "evt_1", "type": "account.updated", "created": 1}
    store.record(event, at=NOW)
    with pytest.raises(EventAlreadyRecordedError) as known:
        store.record(event, at=NOW)
    assert known.value.status == "received"
    store.mark_enqueued("evt_1")
    assert not store.is_processed("evt_1")
    store.mark_processed("evt_1", "ok", at=NOW)
    store.mark_enqueued("evt_1")  # the worker was quicker: stays processed
    assert store.is_processed("evt_1")


def test_booking_settings_versions_and_rules(table: Table) -> None:
    store = BookingStore(table)
    first = BookingSettings(hold_minutes=20, version=1, updated_at=NOW)
    store.put_settings(PRC, first, replaces=0)
    assert store.settings(PRC) == first
    with pytest.raises(BookingSettingsChangedError) as stale:
        store.put_settings(PRC, first.model_copy(update={"version": 1}), replaces=0)
    assert isinstance(stale.value, ConflictError) and stale.value.details == {"current_version": 1}
    with pytest.raises(BookingRuleNotFoundError):
        store.delete_service_rule(PRC, "svc_1")


def test_a_hold_is_due_until_closed(table: Table) -> None:
    store = BookingStore(table)
    record = BookingPaymentRecord(
        kind="deposit",
        amount=Money(amount=1000, currency="usd"),
        payment_id="pay_1",
        owner_id="cli_1",
        hold_expires_at=NOW,
    )
    table.transact([store.open_hold(PRC, "ses_1", "cli_1", record)])
    assert store.due_holds(NOW - timedelta(seconds=1), 10) == []
    [hold] = store.due_holds(NOW, 10)
    assert (hold.session_id, hold.payment_id, hold.expires_at, hold.status) == ("ses_1", "pay_1", NOW, "open")
    store.close_hold(PRC, "ses_1", at=NOW)
    store.close_hold(PRC, "ses_2", at=NOW)  # none there: nothing happens
    assert store.due_holds(NOW + timedelta(days=1), 10) == []


def test_clients_are_read_together_in_one_round(table: Table) -> None:
    """ClientStore.get_many: the found clients by id, unknown and malformed ids left out."""
    store = ClientStore(table)
    ada = Client(id=new_id("cli"), first_name="Ada", last_name="L", created_at=NOW, version=1)
    bo = Client(id=new_id("cli"), first_name="Bo", last_name="K", created_at=NOW, version=1)
    store.create("prc_1", ada)
    store.create("prc_1", bo)
    before = table.request_count
    got = store.get_many("prc_1", [ada.id, new_id("cli"), "not-an-id", bo.id, ada.id])
    assert table.request_count - before == 1
    assert got == {ada.id: ada, bo.id: bo}
    assert store.get_many("prc_other", [ada.id]) == {}  # another practice's partition
