"""The session store against the table: the nightly run's API (its to-do rows and its record on
each session) and the conditional transition write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.conftest import World, new_practice_id
from therabill.core.ids import new_id
from therabill.sessions.errors import SessionNotFoundError
from therabill.sessions.models import Change, Session
from therabill.sessions.store import SessionChangedError, SessionStore

START = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)


def _session(start: datetime = START, status: str = "completed") -> Session:
    return Session.model_validate(
        {
            "id": new_id("ses"),
            "client_id": new_id("cli"),
            "service_id": new_id("svc"),
            "clinician_id": new_id("stf"),
            "scheduled_start": start,
            "scheduled_end": start + timedelta(minutes=50),
            "status": status,
            "created_at": START - timedelta(days=1),
            "created_by": "owner",
            "updated_at": START - timedelta(days=1),
            "version": 1,
        }
    )


def _store(world: World) -> SessionStore:
    return SessionStore(world.container.table)


def test_claim_and_record_billing_once(world: World) -> None:
    store, prc, s = _store(world), new_practice_id(), _session()
    store.create(prc, s)
    found = store.billable(prc, s.client_id, s.id)
    assert found is not None and found.session == s and found.mark is None

    claimed = store.claim_billing(prc, s.client_id, s.id, run_id="run_1", action="charge")
    assert claimed is not None and claimed.mark is not None
    assert (claimed.mark.status, claimed.mark.run_id, claimed.mark.action) == ("started", "run_1", "charge")
    again = store.claim_billing(prc, s.client_id, s.id, run_id="run_2", action="send")
    assert again is not None and again.mark == claimed.mark  # the first claim stands

    at = START + timedelta(days=1)
    done = store.billing_done_write(
        prc,
        s.client_id,
        s.id,
        outcome="charged",
        billed=15000,
        charged=15000,
        invoice_ids=("inv_1",),
        payment_ids=("pay_1",),
        problem=None,
        at=at,
    )
    world.container.table.transact([done])
    mark = store.billable(prc, s.client_id, s.id, fresh=True)
    assert mark is not None and mark.mark is not None
    assert mark.mark.model_dump() == {
        "status": "done",
        "run_id": "run_1",
        "action": "charge",
        "outcome": "charged",
        "billed": 15000,
        "charged": 15000,
        "invoice_ids": ("inv_1",),
        "payment_ids": ("pay_1",),
        "problem": None,
        "at": at,
    }
    assert mark.session == s  # the record is not the session's
    assert store.claim_billing(prc, "cli_gone", new_id("ses"), run_id="run_3", action="charge") is None


def test_billables_between_span_utc_dates_with_exact_bounds(world: World) -> None:
    store, prc = _store(world), new_practice_id()
    early, inside, late = (
        _session(START - timedelta(hours=1)),
        _session(START),
        _session(START + timedelta(hours=2)),
    )
    for s in (early, inside, late):
        store.create(prc, s)
    found = store.billables_starting_between(prc, START, START + timedelta(hours=2))
    assert [b.session.id for b in found] == [inside.id]
    wide = store.starting_between(prc, START - timedelta(hours=1), START + timedelta(hours=3))
    assert {x.id for x in wide} == {early.id, inside.id, late.id}


def test_to_bill_rows(world: World) -> None:
    store, prc, a, b = _store(world), new_practice_id(), _session(), _session(START + timedelta(days=1))
    store.mark_to_bill(prc, a)
    store.mark_to_bill(prc, b)
    rows = store.to_bill(prc)
    assert [(r.session_id, r.client_id, r.scheduled_start) for r in rows] == [
        (a.id, a.client_id, a.scheduled_start),
        (b.id, b.client_id, b.scheduled_start),
    ]
    world.container.table.transact([store.to_bill_done_write(prc, a.id, a.scheduled_start)])
    store.forget_to_bill(prc, rows[1])
    assert store.to_bill(prc) == []


def test_a_stale_transition_answers_with_the_session_as_it_is(world: World) -> None:
    store, prc, s = _store(world), new_practice_id(), _session(status="booked")
    store.create(prc, s)
    moved = store.apply(prc, s, Change("booked", "no_show", {"no_show_at": START}), START)
    assert (moved.status, moved.version) == ("no_show", 2)
    with pytest.raises(SessionChangedError) as raised:
        store.apply(prc, s, Change("booked", "checked_in", {"checked_in_at": START}), START)
    assert raised.value.current == moved
    assert raised.value.details["current_status"] == "no_show"
    with pytest.raises(SessionNotFoundError):
        store.get(prc, new_id("ses"))
