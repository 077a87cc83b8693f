"""Supervision items become the supervisor on clinicians' provider records
(scripts/migrate_providers.py): before the migration both are read and no supervisor is lost;
a crash half way leaves each item moved or untouched and a re-run finishes; a third run changes
nothing; an item naming a free string waits for the clinicians' migration; another practice is
left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scripts.migrate_providers import migrate

from tests.integration import scenario
from tests.integration.conftest import World
from tests.integration.test_nightly_support import C1, C2, SUP1, SUP2, clinicians, local, service, session_on
from therabill.adapters.dynamo import Table
from therabill.core.ids import derived_id
from therabill.providers.models import ClinicianProvider, ClinicianProviderRecord, Supervision
from therabill.providers.store.clinicians import record_item, supervision_item
from therabill.providers.store.migration import migrate_practice

THEN = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
C3 = derived_id("stf", "nightly-tests", "c3")


def _legacy(table: Table, practice_id: str, clinician: str, supervisor: str) -> None:
    old = Supervision(clinician_id=clinician, supervisor_id=supervisor, updated_at=THEN, updated_by="stf_old")
    table.put(supervision_item(practice_id, old))


def _partition(world: World, practice_id: str) -> list[dict[str, Any]]:
    return world.container.table.query_all(f"P#{practice_id}")


def _supervisors(world: World, practice_id: str) -> dict[str, str]:
    return world.container.providers.clinicians.roster(practice_id).supervisors


def test_supervision_items_move_into_provider_records_once(world: World) -> None:
    table = world.container.table
    practice = scenario.create_practice(world, connect=False)
    pid = practice.id
    clinicians(world, pid, C3)
    _legacy(table, pid, C1, SUP1)
    _legacy(table, pid, C2, SUP2)
    _legacy(table, pid, "Dr Ada", SUP1)  # the clinicians' migration has not reached it
    # C3 has a record already (written while an old instance still wrote supervision items): the
    # record holds C3's supervisor, before and after.
    record = ClinicianProviderRecord(
        provider=ClinicianProvider(clinician_id=C3, rendering_npi="1245319599", supervisor_id=SUP2),
        version=3,
        updated_at=THEN,
        updated_by="stf_new",
    )
    table.put(record_item(pid, record))
    _legacy(table, pid, C3, SUP1)
    other = scenario.create_practice(world, connect=False, name="Other Practice")
    _legacy(table, other.id, C1, SUP1)
    expected = {C1: SUP1, C2: SUP2, "Dr Ada": SUP1, C3: SUP2}

    # Before: read from both; the API and the approval see C1's supervisor.
    assert _supervisors(world, pid) == expected
    status, sup = world.staff("GET", f"/clinicians/{C1}/supervision", practice_id=pid)
    assert status == 200 and (sup["supervisor_id"], sup["updated_by"]) == (SUP1, "stf_old"), sup
    status, shown = world.staff("GET", f"/clinicians/{C2}/provider", practice_id=pid)
    assert (shown["supervisor_id"], shown["version"]) == (SUP2, None), shown

    # A crash after the first item's transaction: it moved whole, the rest are untouched.
    real = table.transact
    calls = {"n": 0}

    def crashing(writes: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the process died")
        real(writes, **kw)

    table.transact = crashing  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            migrate_practice(table, pid)
    finally:
        del table.transact
    assert _supervisors(world, pid) == expected
    still = {i["clinician_id"] for i in table.query_all(f"P#{pid}", prefix="SUPERVISION#")}
    (done,) = {C1, C2, C3} - still  # the first staff item (by key) moved, the others untouched
    assert len(still) == 3

    # The re-run finishes (the script's own function); what readers see is unchanged.
    (line,) = migrate(table, [pid])
    moved, held = len({C1, C2} - {done}), 0 if done == C3 else 1
    assert line.startswith(f"{pid}: {moved} supervisor(s) moved into provider records, {held} already held")
    assert "1 naming a free string" in line and "Dr Ada" in line
    assert _supervisors(world, pid) == expected
    left = table.query_all(f"P#{pid}", prefix="SUPERVISION#")
    assert [i["clinician_id"] for i in left] == ["Dr Ada"]
    records = {r["provider"]["clinician_id"]: r for r in table.query_all(f"P#{pid}", prefix="PROVIDER#")}
    assert {c: r["provider"].get("supervisor_id") for c, r in records.items()} == {
        C1: SUP1,
        C2: SUP2,
        C3: SUP2,
    }
    assert (records[C1]["version"], records[C1]["updated_by"]) == (1, "stf_old")
    assert records[C3]["version"] == 3  # the record stood

    # A third run changes nothing; the other practice waits for its own run.
    before = _partition(world, pid)
    assert migrate(table, [pid])[0].startswith(f"{pid}: 0 supervisor(s) moved")
    assert _partition(world, pid) == before
    assert _supervisors(world, other.id) == {C1: SUP1}
    assert table.query_all(f"P#{other.id}", prefix="PROVIDER#") == []


def test_a_write_before_the_migration_replaces_the_supervision_item(world: World) -> None:
    table = world.container.table
    practice = scenario.create_practice(world, connect=False)
    pid = practice.id
    clinicians(world, pid)
    _legacy(table, pid, C1, SUP1)
    # Not migrated yet: the item's supervisor is the one who may approve C1's session.
    client = scenario.create_client(world, practice)
    session = session_on(world, practice, client["id"], service(world, practice), local("2026-11-20", 10))
    approve = f"/sessions/{session['id']}/supervisor-approval"
    status, approved = world.staff("POST", approve, practice_id=pid, role="clinician", staff_id=SUP1)
    assert status == 200 and approved["supervisor_approved_by"] == SUP1, approved
    body = {"rendering_npi": "1245319599", "supervisor_id": SUP1}
    status, record = world.staff("PUT", f"/clinicians/{C1}/provider", body, practice_id=pid, role="biller")
    assert status == 200 and (record["version"], record["supervisor_id"]) == (1, SUP1), record
    assert table.query_all(f"P#{pid}", prefix="SUPERVISION#") == []
    # Clearing the supervisor holds: the old item is gone, so nothing brings it back.
    assert world.staff("DELETE", f"/clinicians/{C1}/supervision", practice_id=pid)[0] == 204
    assert _supervisors(world, pid) == {}
    assert world.staff("GET", f"/clinicians/{C1}/supervision", practice_id=pid)[0] == 404
